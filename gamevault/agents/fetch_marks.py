"""Where Faust's consumer moved a partition, and what a batch fetched before that move is worth.

Each seek is marked per partition where aiokafka makes it (the consumer's thread), and each fetched
batch carries the number of seeks made before it was returned: a batch's records of a partition moved
since are stale, fetched again from the new position. A gap between the read offset and a record is
fetched again once (`fetched_again`). Used by the drain loop (agents/faust_patches.py) and by the batch
routes (agents/batch_routes.py).
"""

from __future__ import annotations

from typing import Any

from gamevault.metrics import CONSUMER_GAPS


class Fetched(dict):
    """A batch as aiokafka returned it, with the number of seeks made before it was returned."""

    seeks = 0


def tag_fetch(consumer: Any, records: dict) -> Fetched:
    """Run where aiokafka returns the batch (the consumer's thread), in the same step."""
    fetched = Fetched(records)
    fetched.seeks = getattr(consumer, "gamevault_seeks", 0)
    return fetched


def mark_seek(consumer: Any, tp: Any) -> None:
    """A partition is moving. Run where aiokafka moves it, in the same step: batches returned before now
    are stale for it from here on."""
    consumer.gamevault_seeks = getattr(consumer, "gamevault_seeks", 0) + 1
    consumer.__dict__.setdefault("gamevault_moved", {})[tp] = consumer.gamevault_seeks


async def rewind(consumer: Any, tp: Any, offset: int) -> None:
    """Fetch `tp` again from `offset`: aiokafka moves in its own thread, marked there like any seek (the
    rest of the batch in hand is stale for it); the read offset stays on the record before `offset`."""

    async def seek() -> None:
        mark_seek(consumer, tp)
        consumer._thread._ensure_consumer().seek(tp, offset)

    await consumer._thread.call_thread(seek)


async def fetched_again(consumer: Any, tp: Any, r_offset: int, offset: int) -> bool:
    """Records between the read offset and `offset` never reached the loop. The platform's topics have no
    transaction markers and are read before compaction: such a gap means records skipped on the way (a
    race in Faust's rebalance handling), which Faust would count as acknowledged. They are fetched again
    instead, once (-> True: the rest of the batch in hand is stale for `tp`); a gap that persists is
    Faust's (-> False, counted as acknowledged)."""
    healed = consumer.__dict__.setdefault("gamevault_healed", {})  # tp -> the offset last fetched again
    if healed.get(tp) != r_offset:
        healed[tp] = r_offset  # from r_offset itself: after a seek it is the next record, not the last
        CONSUMER_GAPS.labels(tp.topic, "fetched again").inc()
        consumer.log.warning("gap in %s: offsets %s-%s skipped, fetched again", tp, r_offset + 1, offset - 1)
        await rewind(consumer, tp, r_offset)
        return True
    CONSUMER_GAPS.labels(tp.topic, "acknowledged").inc()
    consumer.log.warning("gap in %s: offsets %s-%s never delivered, counted as acknowledged", tp, r_offset + 1,
                         offset - 1)
    await consumer._add_gap(tp, r_offset + 1, offset)
    return False
