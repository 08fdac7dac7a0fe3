"""Secrets kept on local disk: generated once, mode 0600, in directories only their owner can enter.

Every process of one home (broker, workers, simulators, the sink, the CLI) must agree on the same
values without any setup, so the first process that needs a secret generates it and the others read
the winner's file. Nothing here logs or prints a value.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing and make it 0700: it holds secrets or state derived from them."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _private_tmp(path: Path, data: bytes | str) -> Path:
    """`data` in a 0600 file beside `path`, to be moved or linked into place."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    return tmp


def write_private(path: Path, data: bytes | str) -> None:
    """Replace `path` atomically with a 0600 file holding `data`."""
    os.replace(_private_tmp(path, data), path)


def read_or_create(path: Path, nbytes: int = 48) -> str:
    """The secret in `path`, generated (URL-safe, `nbytes` of entropy) by the first caller."""
    if path.exists():
        return path.read_text().strip()
    tmp = _private_tmp(path, secrets.token_urlsafe(nbytes))
    try:
        os.link(tmp, path)  # first writer wins; a concurrent process reads the winner's value
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
