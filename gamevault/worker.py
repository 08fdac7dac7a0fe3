"""The composition root: one worker process = the Faust app, its agents, the read models, the API.

Everything a worker runs is wired here and nowhere else; modules receive what they need.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from gamevault.adapters.carrier import Carrier
from gamevault.adapters.payments import Gateways, build_gateways
from gamevault.agents import catalog as catalog_agents
from gamevault.agents import ingress as ingress_agents
from gamevault.agents import logistics as logistics_agents
from gamevault.agents import orders as orders_agents
from gamevault.agents import payments as payments_agents
from gamevault.agents import ratings as ratings_agents
from gamevault.agents import reviews as reviews_agents
from gamevault.agents import users as users_agents
from gamevault.agents.app import create_faust_app
from gamevault.agents.bus import CommandBus
from gamevault.agents.runtime import Producer
from gamevault.api.app import create_api
from gamevault.api.security import TokenService
from gamevault.api.server import ApiServer
from gamevault.broker.partners import Partners
from gamevault.config import Settings
from gamevault.domain.identity import ReplicaUserDirectory
from gamevault.domain.purchases import PurchaseLedger
from gamevault.tables.definitions import Tables, define_tables
from gamevault.tables.replica import ReplicaService
from gamevault.tables.spill import process_spill
from gamevault.tables.views import ReadModels

log = logging.getLogger(__name__)

# agent name -> (module, the tables it owns). A worker runs all of them unless GAMEVAULT_AGENTS says
# otherwise ("ratings" runs only the rating table; "-ratings" runs everything else): Faust assigns a
# topic's partitions only among the workers subscribed to it, so the catalog side can run apart.
AGENTS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "ingress": (ingress_agents, ()),
    "users": (users_agents, ("users",)),
    "catalog": (catalog_agents, ("products", "reservations")),
    "orders": (orders_agents, ("carts", "orders")),
    "payments": (payments_agents, ("payments",)),
    "logistics": (logistics_agents, ("shipments",)),
    "reviews": (reviews_agents, ("reviews", "review_authors", "comments", "votes")),
    "ratings": (ratings_agents, ("ratings", "rating_totals")),
}


def selected_agents(spec: frozenset[str]) -> list[str]:
    if not spec:
        return list(AGENTS)
    unknown = {s.lstrip("-") for s in spec} - set(AGENTS)
    if unknown:
        raise ValueError(f"unknown agents {sorted(unknown)}; known: {sorted(AGENTS)}")
    if all(s.startswith("-") for s in spec):
        return [a for a in AGENTS if f"-{a}" not in spec]
    return [a for a in AGENTS if a in spec]


@dataclass
class Services:
    """What routes and agents of one worker share (the container FastAPI dependencies read)."""

    settings: Settings
    app: Any
    producer: Producer
    tables: Tables
    views: ReadModels
    replicas: ReplicaService
    bus: CommandBus
    tokens: TokenService
    users: ReplicaUserDirectory
    purchases: PurchaseLedger
    gateways: Gateways
    carrier: Carrier
    partners: Partners
    worker_id: str
    documents: Any = None  # set by create_api: cached product documents
    deadlines: Any = None  # set by the orders agent: live orders' deadlines
    effects: list[Any] = field(default_factory=list)  # the agents' outside-call runners
    api_server: ApiServer | None = None
    started_at: float = field(default_factory=time.time)

    def readiness(self) -> dict[str, Any]:
        broker_ok = time.monotonic() - self.replicas.last_contact < 15.0
        recovery = self.app.tables.recovery
        checks = {  # "tables_recovered" holds trivially on a worker without tables
            "kafka": broker_ok,
            "tables_recovered": bool(recovery.completed.is_set()) and not self.app.in_recovery,
            "read_models": self.replicas.ready.is_set(),
            "replies": self.bus.ready.is_set(),
        }
        sizes = {r.spec.name.split(".")[2]: len(r) for r in self.views.all()}
        return {"ready": all(checks.values()), "checks": checks, "worker": self.worker_id, "read_models": sizes}


def build(settings: Settings, api_port: int | None = None) -> Services:
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    app = create_faust_app(settings)
    producer = Producer(app)
    agents = selected_agents(settings.agents)
    tables = define_tables(app, {name for agent in agents for name in AGENTS[agent][1]})
    views = ReadModels(None if settings.state_in_memory else process_spill(settings.state_dir))
    replicas = ReplicaService(settings.kafka, views.all())
    bus = CommandBus(app, settings.kafka, worker_id)
    tokens = TokenService(settings.secret("jwt-secret"), settings.jwt_issuer, settings.jwt_audience,
                          settings.jwt_ttl_seconds)
    users = ReplicaUserDirectory(views, replicas, chaos=settings.chaos)
    gateways = build_gateways(settings)
    carrier = Carrier(gateways.client, settings.gateway_url("carrier"), settings.secret("carrier-api-key"),
                      settings.secret("carrier-webhook-secret"))
    partners = Partners.of(settings)  # sellers' integrations (the API)
    services = Services(settings, app, producer, tables, views, replicas, bus, tokens, users,
                        PurchaseLedger(views, replicas), gateways, carrier, partners, worker_id)
    for agent in agents:
        AGENTS[agent][0].install(services)

    services.api_server = ApiServer(create_api(services), settings.api_host, api_port or settings.api_port,
                                    trusted_proxies=settings.trusted_proxies)
    for dependency in (replicas, bus, services.api_server):
        app.add_dependency(dependency)

    if "users" in agents:
        @app.task
        async def bootstrap_admin() -> None:
            await users_agents.ensure_admin(services)

    return services


def run(settings: Settings, api_port: int | None = None, loglevel: str = "info") -> None:
    """Run one worker in the foreground until SIGINT/SIGTERM."""
    import uvloop
    from faust.worker import Worker

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    class DrainingWorker(Worker):
        async def on_stop(self) -> None:
            # Faust stops the app's producer before its dependencies; drain HTTP first, so no
            # request meets a stopped producer (it would be a 500 instead of the other worker's 2xx).
            if services.api_server is not None:
                await services.api_server.drain()
            await super().on_stop()

    services = build(settings, api_port)
    worker = DrainingWorker(services.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    # Faust's terminal spinner sets the root logger to DEBUG so every log call can spin it: every
    # aiokafka debug() then builds a LogRecord nobody prints (measured: 22% of a busy worker's CPU).
    worker.spinner = None
    worker.execute_from_commandline()
