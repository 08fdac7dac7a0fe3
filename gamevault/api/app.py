"""The API gateway application: routers per module behind one middleware."""

from __future__ import annotations

from fastapi import FastAPI

from gamevault.api import openapi
from gamevault.api.middleware import GatewayMiddleware
from gamevault.api.problems import install_problem_handlers
from gamevault.api.ratelimit import Policy, TokenBuckets
from gamevault.api.routers import (
    admin,
    auth,
    cart,
    comments,
    integrations,
    ops,
    orders,
    products,
    reviews,
    seller,
    users,
    webhooks,
)
from gamevault.api.services import ApiServices

API_PREFIX = "/api/v1"

DESCRIPTION = """GameVault's gateway: the single REST/JSON entry to the marketplace.

Errors are `application/problem+json` (RFC 9457). Authenticate with `Authorization: Bearer <JWT>`
from `POST /api/v1/auth/token`. Money is `{"amount": "59.90", "currency": "PEN"}`. Lists are
`{"items": [...], "next_cursor": ...}`. Every response carries `X-Request-ID` and the IETF
`RateLimit` / `RateLimit-Policy` headers.
"""


def create_api(services: ApiServices) -> FastAPI:
    settings = services.settings
    api = FastAPI(
        title="GameVault API", version="1.0.0", description=DESCRIPTION,
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    api.state.services = services
    api.state.login_failures = TokenBuckets(Policy("login-failures", settings.token_rate_limit_per_minute))
    api.state.account_failures = TokenBuckets(Policy("account-failures", settings.token_rate_limit_per_minute * 10))
    install_problem_handlers(api)

    api.include_router(ops.router)
    # one level of inclusion: nested routers cost ~20% per request
    for router in (users.router, auth.router, products.router, reviews.products_router, reviews.router, cart.router,
                   orders.router, webhooks.router, integrations.router, seller.router, admin.router,
                   comments.router):
        api.include_router(router, prefix=API_PREFIX)
    openapi.install(api)

    api.add_middleware(
        GatewayMiddleware,
        tokens=services.tokens,
        user_buckets=TokenBuckets(Policy("user", settings.rate_limit_per_minute * 2)),
        ip_buckets=TokenBuckets(Policy("anonymous", settings.rate_limit_per_minute)),
        webhook_buckets=TokenBuckets(Policy("webhooks", settings.webhook_rate_limit_per_minute)),
        cached_reads={f"{API_PREFIX}/products/": (f"{API_PREFIX}/products/{{product_id}}", services.documents.json)},
    )
    return api
