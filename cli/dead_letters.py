"""`claimflow dlt summary|list|replay|discard`: what is dead-lettered, and what operators did with it.

A dead letter names the consumer group that failed it (`dlt-consumer-group`). `replay --group G` sends
that group's letters back to their topic addressed to G alone (header `dlt-replay-group`): every other
group skips them, so a replay never multiplies letters. `discard` closes letters with a reason. Each
decision is appended to the `dead-letter-decisions` topic, keyed by the letter (`<topic>.dlt:P:O`), so a
letter is replayed or discarded once and `summary` shows what is still pending. Payloads are never shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from cli.stack.local_stack import LocalStack
from shared.messaging.kafka_access import KafkaAccess, access_from_env
from shared.messaging.topics import CORE_TOPICS, DEAD_LETTER_DECISIONS, DLT_SUFFIX, REPLAY_GROUP_HEADER

dlt_app = typer.Typer(
    no_args_is_help=True, help="Summarise, list, replay and discard dead-lettered messages.", rich_markup_mode=None
)
console = Console()
DLT_HEADER_PREFIX = "dlt-"
TIMEOUT_S = 10
Bootstrap = Annotated[str | None, typer.Option(help="Kafka bootstrap servers (default: the local stack).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]


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

    @property
    def at(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def group(self) -> str:
        return self.header("dlt-consumer-group")


@dataclass(frozen=True, slots=True)
class Decision:
    """What an operator did with one letter: `replayed` (to `group`) or `discarded` (with `reason`)."""

    letter: str
    decision: str
    reason: str
    group: str
    by: str
    decided_at: str

    @staticmethod
    def key(topic: str, letter: DeadLetter) -> str:
        return f"{topic}{DLT_SUFFIX}:{letter.at}"

    def as_json(self) -> dict[str, str]:
        return {
            "letter": self.letter,
            "decision": self.decision,
            "reason": self.reason,
            "group": self.group,
            "by": self.by,
            "decided_at": self.decided_at,
        }


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


async def _read_all(kafka: KafkaAccess, topic: str) -> list[tuple[int, Any]]:
    """Every record of `topic`, read without a consumer group (reading changes nothing)."""
    partitions = await topic_partitions(kafka, topic)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[tuple[int, Any]] = []
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                records.extend((tp.partition, record) for record in batch)
        return records
    finally:
        await asyncio.wait_for(consumer.stop(), TIMEOUT_S)


async def read_dead_letters(kafka: KafkaAccess, topic: str) -> list[DeadLetter]:
    """Everything in `<topic>.dlt`, in partition and offset order."""
    records = await _read_all(kafka, topic + DLT_SUFFIX)
    letters = [DeadLetter(p, r.offset, r.key, r.value, list(r.headers or ())) for p, r in records]
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


async def read_decisions(kafka: KafkaAccess) -> dict[str, Decision]:
    """The latest decision on each letter, by `<topic>.dlt:P:O`."""
    decisions: dict[str, Decision] = {}
    for _, record in sorted(await _read_all(kafka, DEAD_LETTER_DECISIONS.name), key=lambda pr: pr[1].offset):
        document = json.loads(record.value)
        decisions[document["letter"]] = Decision(**document)
    return decisions


async def replay(
    kafka: KafkaAccess, topic: str, letters: Sequence[DeadLetter], *, reason: str = "replayed"
) -> list[Decision]:
    """Publish each letter back to its topic with its key, value and original headers, addressed to the
    group that failed it (`dlt-replay-group`), and record the decision. A letter that names no group (written
    before groups were recorded) goes to every group."""
    decisions = [_decision(topic, letter, "replayed", reason, letter.group) for letter in letters]
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), TIMEOUT_S)
    try:
        for letter in letters:
            headers = [*letter.original_headers, ("dlt-replayed-from", letter.at.encode())]
            if letter.group:
                headers.append((REPLAY_GROUP_HEADER, letter.group.encode()))
            await asyncio.wait_for(
                producer.send_and_wait(topic, letter.value, key=letter.key, headers=headers), TIMEOUT_S
            )
        await _record(producer, decisions)
    finally:
        await asyncio.wait_for(producer.stop(), TIMEOUT_S)
    return decisions


async def discard(kafka: KafkaAccess, topic: str, letters: Sequence[DeadLetter], reason: str) -> list[Decision]:
    """Close letters without replaying them; the reason is kept with the decision."""
    decisions = [_decision(topic, letter, "discarded", reason, letter.group) for letter in letters]
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), TIMEOUT_S)
    try:
        await _record(producer, decisions)
    finally:
        await asyncio.wait_for(producer.stop(), TIMEOUT_S)
    return decisions


def _decision(topic: str, letter: DeadLetter, decision: str, reason: str, group: str) -> Decision:
    return Decision(
        letter=Decision.key(topic, letter),
        decision=decision,
        reason=reason,
        group=group,
        by=_operator(),
        decided_at=dt.datetime.now(dt.UTC).isoformat(),
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def _record(producer: AIOKafkaProducer, decisions: Sequence[Decision]) -> None:
    for decision in decisions:
        await asyncio.wait_for(
            producer.send_and_wait(
                DEAD_LETTER_DECISIONS.name,
                json.dumps(decision.as_json()).encode(),
                key=decision.letter.encode(),
            ),
            TIMEOUT_S,
        )


def _letter_json(topic: str, letter: DeadLetter, decision: Decision | None) -> dict[str, Any]:
    return {
        "topic": topic,
        "at": letter.at,
        "original_partition": letter.header("dlt-original-partition"),
        "original_offset": letter.header("dlt-original-offset"),
        "event_type": letter.header("ce_type"),
        "event_id": letter.header("ce_id"),
        "tenant": letter.header("ce_tenant"),
        "group": letter.group,
        "attempts": letter.header("dlt-attempts"),
        "error": letter.header("dlt-error"),
        "failed_at": letter.header("dlt-failed-at"),
        "status": decision.decision if decision else "pending",
        "decision": decision.as_json() if decision else None,
    }


def _print_json(document: object) -> None:
    typer.echo(json.dumps(document, indent=2, sort_keys=True))


async def _letters_and_decisions(
    kafka: KafkaAccess, topics: Sequence[str]
) -> tuple[dict[str, list[DeadLetter]], dict[str, Decision]]:
    found = await asyncio.gather(*(read_dead_letters(kafka, topic) for topic in topics))
    return dict(zip(topics, found, strict=True)), await read_decisions(kafka)


def _select(
    topic: str,
    letters: list[DeadLetter],
    decisions: dict[str, Decision],
    *,
    group: str | None,
    at: list[str] | None,
) -> list[DeadLetter]:
    """Pending letters of `topic` (none decided yet), of `group` when given, at the positions when given."""
    chosen = [letter for letter in letters if Decision.key(topic, letter) not in decisions]
    if group is not None:
        chosen = [letter for letter in chosen if letter.group == group]
    if at:
        wanted = set(at)
        known = {letter.at for letter in letters}
        missing = wanted - known
        if missing:
            raise typer.BadParameter(f"not in {topic}{DLT_SUFFIX}: {', '.join(sorted(missing))}")
        chosen = [letter for letter in chosen if letter.at in wanted]
    return chosen


# Commands ------------------------------------------------------------------------------------------------


@dlt_app.command("summary")
def summary(bootstrap: Bootstrap = None, as_json: AsJson = False) -> None:
    """Dead letters per topic and consumer group: pending, replayed, discarded, the commonest errors."""
    topics = [topic.name for topic in CORE_TOPICS]
    letters, decisions = asyncio.run(_letters_and_decisions(_bootstrap(bootstrap), topics))
    rows: list[dict[str, Any]] = []
    for topic in topics:
        groups: dict[str, list[DeadLetter]] = {}
        for letter in letters[topic]:
            groups.setdefault(letter.group, []).append(letter)
        for group, grouped in sorted(groups.items()):
            states = Counter(
                (decisions[key].decision if (key := Decision.key(topic, letter)) in decisions else "pending")
                for letter in grouped
            )
            pending = [letter for letter in grouped if Decision.key(topic, letter) not in decisions]
            errors = Counter(letter.header("dlt-error").split(":")[0] for letter in pending)
            rows.append(
                {
                    "topic": topic,
                    "group": group,
                    "letters": len(grouped),
                    "pending": states["pending"],
                    "replayed": states["replayed"],
                    "discarded": states["discarded"],
                    "oldest_pending_failed_at": min(
                        (letter.header("dlt-failed-at") for letter in pending), default=None
                    ),
                    "errors": dict(errors.most_common(3)),
                }
            )
    totals = {name: sum(row[name] for row in rows) for name in ("letters", "pending", "replayed", "discarded")}
    if as_json:
        _print_json({"groups": rows, **totals})
        return
    table = Table(title=f"dead letters: {totals['pending']} pending of {totals['letters']}")
    for column in ("topic", "group", "letters", "pending", "replayed", "discarded", "oldest pending", "errors"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["topic"], row["group"] or "(none)", str(row["letters"]), str(row["pending"]), str(row["replayed"]),
            str(row["discarded"]), row["oldest_pending_failed_at"] or "",
            ", ".join(f"{error} ({count})" for error, count in row["errors"].items()),
        )  # fmt: skip
    console.print(table)


@dlt_app.command("list")
def list_dead_letters(
    topic: Annotated[str, typer.Argument(help="The original topic, e.g. encounter-coded.")],
    bootstrap: Bootstrap = None,
    as_json: AsJson = False,
) -> None:
    """Show each dead letter: where it came from, why it failed, how often it was tried, what was decided
    (never the payload)."""
    _check_topic(topic)
    letters, decisions = asyncio.run(_letters_and_decisions(_bootstrap(bootstrap), [topic]))
    rows = [_letter_json(topic, letter, decisions.get(Decision.key(topic, letter))) for letter in letters[topic]]
    if as_json:
        _print_json({"topic": topic, "letters": rows})
        return
    table = Table(title=f"{topic}{DLT_SUFFIX}: {len(rows)} dead letters")
    for column in ("at", "from", "event", "group", "attempts", "error", "failed at", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["at"], f"{row['original_partition']}:{row['original_offset']}",
            f"{row['event_type']} {row['event_id']}", row["group"], row["attempts"], row["error"],
            row["failed_at"], row["status"],
        )  # fmt: skip
    console.print(table)


@dlt_app.command("replay")
def replay_dead_letters(
    group: Annotated[str, typer.Option("--group", help="The consumer group whose dead letters go back, to it alone.")],
    topic: Annotated[
        str | None, typer.Argument(help="The original topic, e.g. encounter-coded. Default: every topic.")
    ] = None,
    at: Annotated[
        list[str] | None, typer.Option("--at", help="PARTITION:OFFSET in the .dlt topic (needs TOPIC); repeat.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be replayed; send nothing.")] = False,
    bootstrap: Bootstrap = None,
    as_json: AsJson = False,
) -> None:
    """Send a group's pending dead letters back to their topics, handled again by that group only (its inbox
    keeps a replay from applying anything twice); each is recorded as replayed."""
    servers = _bootstrap(bootstrap)
    if at and topic is None:
        raise typer.BadParameter("--at names a position in one topic's .dlt: give TOPIC")
    topics = [_check_topic(topic)] if topic is not None else [t.name for t in CORE_TOPICS]
    letters, decisions = asyncio.run(_letters_and_decisions(servers, topics))
    groups = sorted({letter.group for found in letters.values() for letter in found})
    if group not in groups:
        raise typer.BadParameter(f"no dead letters of group {group!r}; groups with dead letters: {groups}")
    chosen = {name: _select(name, letters[name], decisions, group=group, at=at) for name in topics}
    replayed = 0
    if not dry_run:
        for name, picked in chosen.items():
            if picked:
                replayed += len(asyncio.run(replay(servers, name, picked)))
    would = sum(len(picked) for picked in chosen.values())
    if as_json:
        _print_json(
            {
                "group": group,
                "dry_run": dry_run,
                "replayed": replayed,
                "letters": [_letter_json(name, letter, None) for name, picked in chosen.items() for letter in picked],
            }
        )
        return
    verb = "would replay" if dry_run else "replayed"
    where = topic or "their topics"
    console.print(f"{verb} {replayed if not dry_run else would} dead letters of {group} to {where}")


@dlt_app.command("discard")
def discard_dead_letters(
    topic: Annotated[str, typer.Argument(help="The original topic, e.g. encounter-coded.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the letters are closed without a replay.")],
    at: Annotated[list[str] | None, typer.Option("--at", help="PARTITION:OFFSET in the .dlt topic; repeat.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Every pending letter of this group.")] = None,
    bootstrap: Bootstrap = None,
    as_json: AsJson = False,
) -> None:
    """Close dead letters without replaying them, with a reason; they no longer count as pending."""
    if not reason.strip():
        raise typer.BadParameter("give a reason")
    if not at and group is None:
        raise typer.BadParameter("name the letters (--at P:O) or a --group")
    servers = _bootstrap(bootstrap)
    _check_topic(topic)
    letters, decisions = asyncio.run(_letters_and_decisions(servers, [topic]))
    chosen = _select(topic, letters[topic], decisions, group=group, at=at)
    done = asyncio.run(discard(servers, topic, chosen, reason.strip()))
    if as_json:
        _print_json({"topic": topic, "discarded": len(done), "decisions": [d.as_json() for d in done]})
        return
    console.print(f"discarded {len(done)} dead letters of {topic}: {reason.strip()}")
