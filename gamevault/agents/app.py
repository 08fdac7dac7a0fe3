"""The Faust app factory."""

from __future__ import annotations

from typing import Any

import faust

from gamevault.agents import faust_patches
from gamevault.config import Settings
from gamevault.streams.topics import PARTITIONS, TopicSpec
from gamevault.tables import spill


def create_faust_app(settings: Settings) -> faust.App:
    faust_patches.shorten_fetch_wait()
    faust_patches.drain_safely()
    return faust.App(
        settings.app_id,
        **settings.kafka.faust(),
        store="memory://" if settings.state_in_memory else f"{spill.SCHEME}://{settings.state_dir.resolve()}",
        autodiscover=False,
        web_enabled=False,  # the FastAPI gateway is served by our own uvicorn service instead
        topic_partitions=PARTITIONS,
        topic_allow_declare=True,  # topics exist already (catalogue); Faust still creates its own leader topic
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",  # steps are idempotent; see README "effectively once"
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,
        broker_max_poll_interval=300.0,
        broker_max_poll_records=500,  # a fetch handed over whole (agents/batch_routes.py) stays short
        producer_acks=-1,
        producer_linger=0.002,
        stream_wait_empty=False,
        stream_buffer_maxsize=8192,
        worker_redirect_stdouts=False,
        table_cleanup_interval=3600.0,
    )


def raw_topic(app: faust.App, spec: TopicSpec) -> Any:
    """A Faust topic of raw bytes: we decode JSON ourselves (orjson) and validate with pydantic."""
    return app.topic(
        spec.name, partitions=spec.partitions, key_serializer="raw", value_serializer="raw",
    )
