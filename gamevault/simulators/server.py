"""The simulators' HTTP server: PayPal, Yape, Plin and a carrier on one port, plus /_sim controls."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gamevault.config import Settings
from gamevault.simulators.carrier import carrier_router
from gamevault.simulators.paypal import router as paypal_router
from gamevault.simulators.state import SimState
from gamevault.simulators.wallets import plin_router, yape_router
from gamevault.simulators.webhooks import Deliverer


def create_app(settings: Settings) -> FastAPI:
    state = SimState()
    app = FastAPI(title="GameVault gateway simulators (dev and test only)")
    deliver = Deliverer(state, settings.api_url)
    app.include_router(paypal_router(state, deliver, settings.simulators_base_url,
                                     settings.secret("paypal-client-secret"), settings.secret("paypal-webhook-id")))
    app.include_router(yape_router(state, deliver, settings.secret("yape-api-key"),
                                   settings.secret("yape-webhook-secret")))
    app.include_router(plin_router(state, deliver, settings.secret("plin-api-key"),
                                   settings.secret("plin-webhook-secret")))
    app.include_router(carrier_router(state, deliver, settings.secret("carrier-api-key"),
                                      settings.secret("carrier-webhook-secret")))

    @app.get("/_sim/ledger", tags=["controls"])
    async def ledger() -> dict[str, Any]:
        """Money movements per order: captures, refunds, voids, declines."""
        return {"orders": state.ledger.orders, "webhooks_delivered": state.delivered_webhooks}

    @app.get("/_sim/config", tags=["controls"])
    async def get_config() -> dict[str, Any]:
        return vars(state.chaos)

    @app.post("/_sim/config", tags=["controls"])
    async def set_config(changes: dict[str, Any]) -> dict[str, Any]:
        """Chaos switches: webhook_copies, shuffle, delay_s, start_failures."""
        state.chaos.update(changes)
        return vars(state.chaos)

    @app.get("/healthz", tags=["controls"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.router.on_shutdown.append(deliver.aclose)
    return app


def run(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False,
                loop="uvloop", http="httptools")
