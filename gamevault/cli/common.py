"""Options and helpers every command shares."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gamevault.config import Settings, load_settings

home_option = click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="State directory (default: $GAMEVAULT_HOME or ./.gamevault).",
)
kafka_port_option = click.option(
    "--kafka-port", type=int, default=None,
    help="Port of the local broker (default: the running one's, else 9092; controller = port+1).",
)


def settings_from(home: Path | None, kafka_port: int | None = None, **overrides: Any) -> Settings:
    settings = load_settings(home, **overrides)
    if kafka_port is not None:
        return settings.with_overrides(kafka_port=kafka_port)
    try:  # commands find the broker `gamevault kafka start` left running for this home
        state = json.loads((settings.kafka_dir / "state.json").read_text())
        return settings.with_overrides(kafka_port=int(state["port"]))
    except (OSError, ValueError, KeyError):
        return settings


def fail(message: str, code: int = 1) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the known operational errors into one clear line and a non-zero exit."""
    import functools

    from gamevault.broker.admin import TopicMismatch
    from gamevault.broker.local import BrokerError
    from gamevault.kafka_access import AccessError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (BrokerError, TopicMismatch, AccessError) as exc:
            fail(str(exc))
        except RuntimeError as exc:
            if "not reachable" in str(exc):
                fail(str(exc))
            raise

    return wrapper
