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
from gamevault.agents import users as users_agents
from gamevault.agents.app import create_faust_app
from gamevault.agents.bus import CommandBus
from gamevault.agents.runtime import Producer
from gamevault.api.app import create_api
from gamevault.api.security import TokenService
from gamevault.api.server import ApiServer
from gamevault.config import Settings
from gamevault.domain.identity import ReplicaUserDirectory
from gamevault.tables.definitions import Tables, define_tables
from gamevault.tables.replica import ReplicaService
from gamevault.tables.views import ReadModels

log = logging.getLogger(__name__)


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
    gateways: Gateways
    carrier: Carrier
    worker_id: str
    documents: Any = None  # set by create_api: cached product documents
    deadlines: Any = None  # set by the orders agent: live orders' deadlines
    effects: list[Any] = field(default_factory=list)  # the agents' outside-call runners
    started_at: float = field(default_factory=time.time)

    def readiness(self) -> dict[str, Any]:
        broker_ok = time.monotonic() - self.replicas.last_contact < 15.0
        recovery = self.app.tables.recovery
        checks = {
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
    tables = define_tables(app)
    views = ReadModels()
    replicas = ReplicaService(settings.bootstrap, views.all())
    bus = CommandBus(app, settings.bootstrap, worker_id)
    tokens = TokenService(settings.secret("jwt-secret"), settings.jwt_issuer, settings.jwt_audience,
                          settings.jwt_ttl_seconds)
    users = ReplicaUserDirectory(views, replicas, chaos=settings.chaos)
    gateways = build_gateways(settings)
    carrier = Carrier(gateways.client, settings.gateway_url("carrier"), settings.secret("carrier-api-key"),
                      settings.secret("carrier-webhook-secret"))
    services = Services(settings, app, producer, tables, views, replicas, bus, tokens, users, gateways, carrier,
                        worker_id)

    ingress_agents.install(app, producer)
    for module in (users_agents, catalog_agents, orders_agents, payments_agents, logistics_agents):
        module.install(services)

    api = create_api(services)
    for dependency in (replicas, bus, ApiServer(api, settings.api_host, api_port or settings.api_port)):
        app.add_dependency(dependency)

    @app.task
    async def bootstrap_admin() -> None:
        await users_agents.ensure_admin(services)

    return services


def run(settings: Settings, api_port: int | None = None, loglevel: str = "info") -> None:
    """Run one worker in the foreground until SIGINT/SIGTERM."""
    import uvloop
    from faust.worker import Worker

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    services = build(settings, api_port)
    worker = Worker(services.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    # Faust's terminal spinner sets the root logger to DEBUG so every log call can spin it: every
    # aiokafka debug() then builds a LogRecord nobody prints (measured: 22% of a busy worker's CPU).
    worker.spinner = None
    worker.execute_from_commandline()
