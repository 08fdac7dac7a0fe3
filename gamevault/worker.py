"""The composition root: one worker process = the Faust app, its agents, the read models, the API.

Everything a worker runs is wired here and nowhere else; modules receive what they need.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from gamevault.adapters.factory import build_carrier, build_gateways
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
from gamevault.api.documents import ProductDocuments
from gamevault.api.security import TokenService
from gamevault.api.server import ApiServer
from gamevault.api.services import ApiServices
from gamevault.broker.partners import Partners
from gamevault.config import Settings
from gamevault.tables.definitions import define_tables
from gamevault.tables.directories import PurchaseLedger, ReplicaUserDirectory
from gamevault.tables.readmodels import ReadModels
from gamevault.tables.replica import ReplicaService
from gamevault.tables.spill import process_spill

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


def build(settings: Settings, api_port: int | None = None) -> Worker:
    """Everything one worker runs, built whole before any of it starts."""
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    app = create_faust_app(settings)
    agents = selected_agents(settings.agents)
    views = ReadModels(None if settings.state_in_memory else process_spill(settings.state_dir))
    replicas = ReplicaService(settings.kafka, views.all())
    gateways = build_gateways(settings)
    services = ApiServices(
        settings=settings, app=app, producer=Producer(app),
        tables=define_tables(app, {name for agent in agents for name in AGENTS[agent][1]}),
        views=views, replicas=replicas, bus=CommandBus(app, settings.kafka, worker_id),
        users=ReplicaUserDirectory(views, replicas, chaos=settings.chaos), purchases=PurchaseLedger(views, replicas),
        gateways=gateways, carrier=build_carrier(settings, gateways.client), worker_id=worker_id,
        tokens=TokenService(settings.secret("jwt-secret"), settings.jwt_issuer, settings.jwt_audience,
                            settings.jwt_ttl_seconds),
        partners=Partners.of(settings), documents=ProductDocuments(views),
    )
    for agent in agents:
        AGENTS[agent][0].install(services)

    api_server = ApiServer(create_api(services), settings.api_host, api_port or settings.api_port,
                           trusted_proxies=settings.trusted_proxies)
    for dependency in (replicas, services.bus, api_server):
        app.add_dependency(dependency)

    if "users" in agents:
        @app.task
        async def bootstrap_admin() -> None:
            await users_agents.ensure_admin(services)

    return Worker(services, api_server)


@dataclass(frozen=True)
class Worker:
    services: ApiServices
    api_server: ApiServer

    async def drain(self) -> None:
        """Before Faust stops the producer: finish HTTP requests, then the outside calls in flight (their
        results are stored as commands), so neither meets a stopped producer."""
        await self.api_server.drain()
        await asyncio.gather(*(runner.drain(timeout=5.0) for runner in self.services.effects))


def run(settings: Settings, api_port: int | None = None, loglevel: str = "info") -> None:
    """Run one worker in the foreground until SIGINT/SIGTERM."""
    import uvloop
    from faust.worker import Worker as FaustWorker

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    class DrainingWorker(FaustWorker):
        async def on_stop(self) -> None:
            # Faust stops the app's producer before its dependencies; drain first, so no request
            # meets a stopped producer (it would be a 500 instead of the other worker's 2xx).
            await built.drain()
            await super().on_stop()

    built = build(settings, api_port)
    worker = DrainingWorker(built.services.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    # Faust's terminal spinner sets the root logger to DEBUG so every log call can spin it: every
    # aiokafka debug() then builds a LogRecord nobody prints (measured: 22% of a busy worker's CPU).
    worker.spinner = None
    worker.execute_from_commandline()
