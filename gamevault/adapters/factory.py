"""Builds the outside-world adapters from settings (the composition root calls this; the interfaces
in adapters/payments/base.py stay free of their implementations)."""

from __future__ import annotations

import httpx

from gamevault import http_clients
from gamevault.adapters.carrier import Carrier
from gamevault.adapters.payments.base import Gateways
from gamevault.adapters.payments.paypal import PayPal
from gamevault.adapters.payments.wallets import Plin, Yape
from gamevault.config import Settings


def build_gateways(settings: Settings) -> Gateways:
    client = http_clients.async_client(timeout=httpx.Timeout(5.0, connect=2.0),
                                       limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
    return Gateways({
        "paypal": PayPal(client, settings.gateway_url("paypal"), "gamevault",
                         settings.secret("paypal-client-secret"), settings.secret("paypal-webhook-id"),
                         settings.paypal_cert_subject, settings.paypal_cert_pins),
        "yape": Yape(client, settings.gateway_url("yape"), settings.secret("yape-api-key"),
                     settings.secret("yape-webhook-secret")),
        "plin": Plin(client, settings.gateway_url("plin"), settings.secret("plin-api-key"),
                     settings.secret("plin-webhook-secret")),
    }, client)


def build_carrier(settings: Settings, client: httpx.AsyncClient) -> Carrier:
    return Carrier(client, settings.gateway_url("carrier"), settings.secret("carrier-api-key"),
                   settings.secret("carrier-webhook-secret"))
