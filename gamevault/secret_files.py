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


def write_private(path: Path, data: bytes | str) -> None:
    """Replace `path` atomically with a 0600 file holding `data`."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def read_or_create(path: Path, nbytes: int = 48) -> str:
    """The secret in `path`, generated (URL-safe, `nbytes` of entropy) by the first caller."""
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    value = secrets.token_urlsafe(nbytes)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent process reads the winner's value
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
