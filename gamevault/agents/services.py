"""What the agents of one worker are given: built whole by the composition root (worker.py) before any
agent is installed, so every field is there from the start and typed for "go to definition"."""

from __future__ import annotations

from dataclasses import dataclass, field

import faust

from gamevault.adapters.carrier import Carrier
from gamevault.adapters.payments import Gateways
from gamevault.agents.bus import CommandBus
from gamevault.agents.deadlines import DeadlineIndex
from gamevault.agents.effects import EffectRunner
from gamevault.agents.runtime import Dispatcher, Producer
from gamevault.config import Settings
from gamevault.domain.identity import UserDirectory
from gamevault.domain.purchases import Purchases
from gamevault.streams.topics import TopicSpec
from gamevault.tables.definitions import Tables
from gamevault.tables.readmodels import ReadModels
from gamevault.tables.replica import ReplicaService


@dataclass
class AgentServices:
    settings: Settings
    app: faust.App
    producer: Producer
    tables: Tables  # the Faust tables of the agents this worker runs
    views: ReadModels  # every module's state, replicated from the changelogs (the read side)
    replicas: ReplicaService
    bus: CommandBus
    users: UserDirectory  # GU, asked at the moment of need
    purchases: Purchases  # CCP, asked by CR at the moment of need
    gateways: Gateways
    carrier: Carrier
    worker_id: str
    deadlines: DeadlineIndex = field(default_factory=DeadlineIndex)  # the orders agent's live deadlines
    effects: list[EffectRunner] = field(default_factory=list)  # the agents' outside-call runners (drained at stop)
    dispatchers: list[Dispatcher] = field(default_factory=list)  # one per command topic this worker handles

    def effect_runner(self, source: str) -> EffectRunner:
        """An outside-call runner for one agent, kept so the worker can drain it when it stops."""
        runner = EffectRunner(self.producer, source)
        self.effects.append(runner)
        return runner

    def dispatcher(self, name: str, spec: TopicSpec, source: str) -> Dispatcher:
        """The command dispatcher of one agent, kept so the wiring can be checked (tests/unit/agents)."""
        dispatcher = Dispatcher(name, spec, self.producer, source)
        self.dispatchers.append(dispatcher)
        return dispatcher
