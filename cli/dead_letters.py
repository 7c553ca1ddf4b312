"""`claimflow dlt list|replay`: inspect dead letters and send them back to their topic."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from cli.stack.local_stack import LocalStack
from shared.messaging.kafka_access import KafkaAccess, access_from_env
from shared.messaging.topics import CORE_TOPICS, DLT_SUFFIX

dlt_app = typer.Typer(no_args_is_help=True, help="List and replay dead-lettered messages.")
console = Console()
DLT_HEADER_PREFIX = "dlt-"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        return next((raw.decode(errors="replace") for n, raw in self.headers if n == name), "")

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(n, raw) for n, raw in self.headers if not n.startswith(DLT_HEADER_PREFIX)]


def _bootstrap(option: str | None) -> KafkaAccess:
    """The broker a tool talks to, as the admin principal: --bootstrap or KAFKA_BOOTSTRAP_SERVERS with the
    `CLAIMFLOW_KAFKA_SASL_*` credentials of the environment, else the local stack's own admin."""
    bootstrap = option or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        return access_from_env(bootstrap)
    endpoints = LocalStack().endpoints()
    if endpoints is None:
        raise typer.BadParameter("no Kafka: start the stack (`claimflow stack up`) or pass --bootstrap")
    return endpoints.kafka


def _check_topic(topic: str) -> str:
    known = {t.name for t in CORE_TOPICS}
    if topic not in known:
        raise typer.BadParameter(f"unknown topic {topic!r}; one of {', '.join(sorted(known))}")
    return topic


async def topic_partitions(kafka: KafkaAccess, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, from the broker's metadata (a consumer without a group has none)."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for p in description["partitions"])


async def read_dead_letters(kafka: KafkaAccess, topic: str) -> list[DeadLetter]:
    """Everything in `<topic>.dlt`, read without a consumer group (listing changes nothing)."""
    partitions = await topic_partitions(kafka, topic + DLT_SUFFIX)
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                letters.extend(
                    DeadLetter(tp.partition, r.offset, r.key, r.value, list(r.headers or ())) for r in records
                )
        return sorted(letters, key=lambda letter: (letter.partition, letter.offset))
    finally:
        await asyncio.wait_for(consumer.stop(), 10)


async def replay(kafka: KafkaAccess, topic: str, letters: list[DeadLetter]) -> None:
    """Publish each letter back to its original topic with its key, value and original headers."""
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), 10)
    try:
        for letter in letters:
            headers = [*letter.original_headers, ("dlt-replayed-from", f"{letter.partition}:{letter.offset}".encode())]
            await asyncio.wait_for(producer.send_and_wait(topic, letter.value, key=letter.key, headers=headers), 10)
    finally:
        await asyncio.wait_for(producer.stop(), 10)


@dlt_app.command("list")
def list_dead_letters(
    topic: Annotated[str, typer.Argument(help="The original topic, e.g. encounter-coded.")],
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers (default: the local stack).")] = None,
) -> None:
    """Show each dead letter: where it came from, why it failed, how often it was tried (never the payload)."""
    letters = asyncio.run(read_dead_letters(_bootstrap(bootstrap), _check_topic(topic)))
    table = Table(title=f"{topic}{DLT_SUFFIX}: {len(letters)} dead letters")
    for column in ("at", "from", "event", "group", "attempts", "error", "failed at"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            f"{letter.partition}:{letter.offset}",
            f"{letter.header('dlt-original-partition')}:{letter.header('dlt-original-offset')}",
            f"{letter.header('ce_type')} {letter.header('ce_id')}",
            letter.header("dlt-consumer-group"),
            letter.header("dlt-attempts"),
            letter.header("dlt-error"),
            letter.header("dlt-failed-at"),
        )
    console.print(table)


@dlt_app.command("replay")
def replay_dead_letters(
    topic: Annotated[str, typer.Argument(help="The original topic, e.g. encounter-coded.")],
    at: Annotated[
        list[str] | None, typer.Option("--at", help="PARTITION:OFFSET in the .dlt topic; repeat. Default: all.")
    ] = None,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers (default: the local stack).")] = None,
) -> None:
    """Send dead letters back to their topic; consumers' inboxes keep a replay from applying anything twice."""
    servers = _bootstrap(bootstrap)
    letters = asyncio.run(read_dead_letters(servers, _check_topic(topic)))
    if at:
        wanted = set(at)
        letters = [letter for letter in letters if f"{letter.partition}:{letter.offset}" in wanted]
        missing = wanted - {f"{letter.partition}:{letter.offset}" for letter in letters}
        if missing:
            raise typer.BadParameter(f"not in {topic}{DLT_SUFFIX}: {', '.join(sorted(missing))}")
    asyncio.run(replay(servers, topic, letters))
    console.print(f"replayed {len(letters)} dead letters to {topic}")
