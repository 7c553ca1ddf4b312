"""A batch's handlers get each event the inbox took as new, once, in partition order: a redelivered event, or one
twice in the batch, is skipped (the inbox statement itself runs against Postgres in the integration tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import ConsumerRunner, Subscription

TP = TopicPartition("claim-denied", 0)
INBOX = sa.Table(
    "inbox",
    sa.MetaData(),
    sa.Column("event_id", sa.Text),
    sa.Column("consumer_group", sa.Text),
    sa.Column("topic", sa.Text),
    sa.Column("partition", sa.Integer),
    sa.Column("kafka_offset", sa.BigInteger),
    sa.Column("event_type", sa.Text),
)


ATTRIBUTES: dict[str, Any] = {"type": "claim-denied.v1", "source": "/t", "subject": "s", "tenant": "t"}


def _item(offset: int, event_id: str) -> tuple[TopicPartition, ConsumerRecord, EventEnvelope]:
    record = ConsumerRecord(TP.topic, TP.partition, offset, 0, 0, b"k", b"{}", None, 1, 2, ())
    time = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    return TP, record, EventEnvelope(id=event_id, time=time, data={}, **ATTRIBUTES)


class _Runner(ConsumerRunner):
    """The runner with the inbox's answer given: the ids it inserted."""

    def __init__(self, fresh: set[str], applied: list[str]) -> None:
        async def handler(_session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
            applied.extend(envelope.id for envelope in envelopes)

        subscription = Subscription(group_id="g", handlers={"claim-denied.v1": handler}, topics=(TP.topic,))
        super().__init__(
            service="test",
            subscription=subscription,
            sessions=None,  # type: ignore[arg-type]  # the inbox answer is given: no database
            inbox=INBOX,
            publisher=None,  # type: ignore[arg-type]
            kafka=None,  # type: ignore[arg-type]
            max_attempts=3,
            batch_size=500,
        )
        self._fresh = fresh

    async def _record_in_inbox(self, session: AsyncSession, decoded: list[Any]) -> set[str]:
        return self._fresh


async def test_every_event_new_goes_to_its_handler_in_order() -> None:
    applied: list[str] = []
    batch = [_item(0, "a"), _item(1, "b"), _item(2, "c")]
    await _Runner({"a", "b", "c"}, applied)._apply(None, batch)  # type: ignore[arg-type]
    assert applied == ["a", "b", "c"]


async def test_a_redelivered_event_and_an_event_twice_in_the_batch_are_applied_once() -> None:
    """As many ids came back as the batch has events minus one: `b` again and `c` (already in the inbox) are
    skipped, `a` and `b` applied once each."""
    applied: list[str] = []
    batch = [_item(0, "a"), _item(1, "b"), _item(2, "b"), _item(3, "c")]
    await _Runner({"a", "b"}, applied)._apply(None, batch)  # type: ignore[arg-type]
    assert applied == ["a", "b"]


async def test_an_event_twice_with_another_redelivered_is_still_applied_once() -> None:
    """One id back for a batch of three where `a` is there twice and `d` was applied before: fewer ids than events,
    so each event is checked; `a` once."""
    applied: list[str] = []
    batch = [_item(0, "a"), _item(1, "a"), _item(2, "d")]
    await _Runner({"a"}, applied)._apply(None, batch)  # type: ignore[arg-type]
    assert applied == ["a"]
