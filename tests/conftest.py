"""Fixtures shared by every test area: the real broker and a worker stack, started once a session."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.stack import Stack, jar_cache, start_broker


@pytest.fixture(scope="session")
def kafka_jars():
    return jar_cache()


@pytest.fixture(scope="session")
def broker(tmp_path_factory, kafka_jars):
    """One real Apache Kafka (KRaft) for the session, on a free port."""
    home = tmp_path_factory.mktemp("gamevault-home")
    broker = start_broker(home)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def stack(broker):
    """The gateway simulators and one worker (agents + API) on the session broker."""
    stack = Stack(broker.dir.parent, broker)
    stack.start_simulators()
    stack.start_worker()
    yield stack
    stack.stop()


@pytest.fixture()
def api(stack):
    client = Api(stack.url)
    yield client
    client.close()


@pytest.fixture()
def isolated(tmp_path, kafka_jars):
    """A private broker for tests that break things (kill the broker, special settings)."""
    stacks: list[Stack] = []

    def make(reauth_ms: int | None = None, **env: str) -> Stack:
        home = tmp_path / f"home{len(stacks)}"
        stack = Stack(home, start_broker(home, reauth_ms=reauth_ms), env=env)
        stacks.append(stack)
        return stack

    yield make
    for s in stacks:
        s.stop()
        s.broker.stop()
