"""`gamevault simulators`: the built-in PayPal, Yape, Plin and carrier simulators (dev and test)."""

from __future__ import annotations

from pathlib import Path

import click

from gamevault.cli.common import home_option, settings_from


@click.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default 8100 (GAMEVAULT_SIMULATOR_PORT).")
def simulators(home: Path | None, host: str, port: int | None) -> None:
    """Serve simulated payment gateways and a carrier that behave as CONTRACT.md says and send signed
    webhooks to the API (GAMEVAULT_API_URL). Controls: GET /_sim/ledger, POST /_sim/config."""
    from gamevault.simulators.server import run

    settings = settings_from(home, simulator_port=port)
    run(settings, host, settings.simulator_port)
