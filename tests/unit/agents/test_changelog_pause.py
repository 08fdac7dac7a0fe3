"""Faust's pause of a changelog partition reaches aiokafka (agents/faust_patches.py pause_changelogs_in_fetch):
a real aiokafka consumer, assigned but not connected, on a loop in a thread of its own as in Faust's worker."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.consumer import Consumer
from faust.types import TP

from gamevault.agents import faust_patches

CHANGELOG, COMMANDS = TP("gamevault.internal.orders.changelog", 0), TP("gamevault.internal.orders.commands", 0)
ELSEWHERE = TP("gamevault.internal.carts.changelog", 3)  # not assigned to this worker


class ConsumerThread:
    """A loop in its own thread holding a real aiokafka consumer, as Faust's AIOKafkaConsumerThread does."""

    def __init__(self) -> None:
        self.thread_loop = asyncio.new_event_loop()
        self.runner = threading.Thread(target=self.thread_loop.run_forever, daemon=True)
        self.runner.start()
        self._consumer = self.call(self._create)

    async def _create(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
        consumer.assign([TopicPartition(*CHANGELOG), TopicPartition(*COMMANDS)])
        return consumer

    def call(self, coro_fn):
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.thread_loop).result(5)

    def paused(self) -> set[TP]:
        async def read() -> set[TP]:  # queued behind every pause and resume sent before it
            return {TP(tp.topic, tp.partition) for tp in self._consumer.paused()}
        return self.call(read)

    def close(self) -> None:
        self.call(self._consumer.stop)
        self.thread_loop.call_soon_threadsafe(self.thread_loop.stop)
        self.runner.join(5)
        self.thread_loop.close()


class FaustBooks:
    """What Faust's Consumer.pause_partitions/resume_partitions read of their consumer."""

    def __init__(self, thread: ConsumerThread) -> None:
        self._thread = thread
        self._active_partitions = {CHANGELOG, COMMANDS}
        self._paused_partitions: set[TP] = set()
        self.app = SimpleNamespace(tables=SimpleNamespace(changelog_topics={CHANGELOG.topic, ELSEWHERE.topic}))

    def _get_active_partitions(self) -> set[TP]:
        return self._active_partitions

    def _is_changelog_tp(self, tp: TP) -> bool:
        return Consumer._is_changelog_tp(self, tp)


@pytest.fixture
def books():
    faust_patches.pause_changelogs_in_fetch()
    thread = ConsumerThread()
    yield FaustBooks(thread)
    thread.close()


def test_a_changelog_paused_by_faust_is_left_out_of_aiokafka_s_fetches_until_resumed(books):
    Consumer.pause_partitions(books, [ELSEWHERE, CHANGELOG, COMMANDS])
    assert books._paused_partitions == {CHANGELOG, COMMANDS, ELSEWHERE}  # Faust's own books, as before
    assert books._thread.paused() == {CHANGELOG}  # only the changelog, and only an assigned partition

    Consumer.resume_partitions(books, [CHANGELOG, COMMANDS])
    assert books._thread.paused() == set()
    assert books._active_partitions == {CHANGELOG, COMMANDS}


def test_pauses_and_resumes_reach_aiokafka_in_the_order_faust_made_them(books):
    for _ in range(3):
        Consumer.pause_partitions(books, [CHANGELOG])
        Consumer.resume_partitions(books, [CHANGELOG])
    Consumer.pause_partitions(books, [CHANGELOG])
    assert books._thread.paused() == {CHANGELOG}


def test_without_the_patch_aiokafka_would_go_on_fetching_what_faust_paused(books):
    original = getattr(Consumer.pause_partitions, "__wrapped__", None)
    assert original is not None
    original(books, [CHANGELOG])
    assert CHANGELOG in books._paused_partitions and books._thread.paused() == set()
