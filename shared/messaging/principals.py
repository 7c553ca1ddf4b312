"""Kafka principals and their ACLs: each service writes only the topics it owns and reads only those it consumes.

The broker denies everything no ACL allows (`allow.everyone.if.no.acl.found=false`); the admin principal
(tools, the CLI, the test suite) is a super user. A consumer may also write the dead-letter twin of each
topic it reads, where it parks poison messages. Consumer groups are allowed by prefix: the service's
name after the deployment's `CLAIMFLOW_CONSUMER_GROUP_PREFIX`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.messaging.topics import (
    CLAIM_CHANGES,
    CLAIM_CORRECTIONS,
    CLAIM_DENIED,
    CLAIM_STATUS,
    CLAIM_SUBMITTED,
    CORE_TOPICS,
    DENIAL_APPEALS,
    ENCOUNTER_CODED,
    LEDGER_ADJUSTMENTS,
    PARTY_CHANGES,
    PATIENT_ACCOUNT,
    PAYMENT_RECEIVED,
    Topic,
)

ADMIN_PRINCIPAL = "admin"
ANALYTICS_PRINCIPAL = "analytics"
ANALYTICS_GROUP = "claimflow-analytics-sink"


class ResourceType(enum.IntEnum):
    """Kafka's ACL resource types (the wire values)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class PatternType(enum.IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(enum.IntEnum):
    READ = 3
    WRITE = 4
    DESCRIBE = 8


@dataclass(frozen=True, slots=True)
class AclBinding:
    """One ALLOW rule: `principal` may `operation` on the resource (host any)."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: Operation

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.principal}"


@dataclass(frozen=True, slots=True)
class KafkaPrincipal:
    name: str
    produces: tuple[Topic, ...]
    consumes: tuple[Topic, ...]
    group_prefix: str
    """Its consumer groups start with this (after the deployment's prefix)."""
    reads_dead_letters: bool = False
    """Reads the dead-letter topics' sizes (ops alerts)."""
    parks_dead_letters: bool = True
    """Writes poison messages of the topics it consumes to their dead-letter twins."""

    def bindings(self, deployment_group_prefix: str = "") -> list[AclBinding]:
        rules: list[tuple[ResourceType, str, PatternType, Operation]] = []
        for topic in self.produces:
            rules += [
                (ResourceType.TOPIC, topic.name, PatternType.LITERAL, Operation.WRITE),
                (ResourceType.TOPIC, topic.name, PatternType.LITERAL, Operation.DESCRIBE),
            ]
        for topic in self.consumes:
            rules += [
                (ResourceType.TOPIC, topic.name, PatternType.LITERAL, Operation.READ),
                (ResourceType.TOPIC, topic.name, PatternType.LITERAL, Operation.DESCRIBE),
            ]
            if self.parks_dead_letters:
                rules += [
                    (ResourceType.TOPIC, topic.dead_letter, PatternType.LITERAL, Operation.WRITE),
                    (ResourceType.TOPIC, topic.dead_letter, PatternType.LITERAL, Operation.DESCRIBE),
                ]
        if self.consumes:
            rules.append(
                (ResourceType.GROUP, deployment_group_prefix + self.group_prefix, PatternType.PREFIXED, Operation.READ)
            )
        if self.reads_dead_letters:
            rules += [
                (ResourceType.TOPIC, topic.dead_letter, PatternType.LITERAL, operation)
                for topic in CORE_TOPICS
                for operation in (Operation.READ, Operation.DESCRIBE)
            ]
        unique = dict.fromkeys(AclBinding(self.name, *rule) for rule in rules)
        return list(unique)

    def may_write(self, topic: str) -> bool:
        return any(b.operation is Operation.WRITE and b.resource_name == topic for b in self.bindings())

    def may_read(self, topic: str) -> bool:
        return any(b.operation is Operation.READ and b.resource_name == topic for b in self.bindings())


SERVICE_PRINCIPALS: dict[str, KafkaPrincipal] = {
    principal.name: principal
    for principal in (
        KafkaPrincipal(
            "intake", produces=(ENCOUNTER_CODED, PARTY_CHANGES), consumes=(CLAIM_CHANGES,), group_prefix="intake"
        ),
        KafkaPrincipal(
            "claims",
            produces=(CLAIM_SUBMITTED, CLAIM_STATUS, CLAIM_CHANGES),
            consumes=(ENCOUNTER_CODED, PAYMENT_RECEIVED, CLAIM_CORRECTIONS, PARTY_CHANGES),
            group_prefix="claims",
        ),
        KafkaPrincipal(
            "remittance",
            produces=(PAYMENT_RECEIVED, CLAIM_DENIED, PATIENT_ACCOUNT),
            consumes=(CLAIM_SUBMITTED, LEDGER_ADJUSTMENTS, PATIENT_ACCOUNT),
            group_prefix="remittance",
        ),
        KafkaPrincipal(
            "denials",
            produces=(CLAIM_CORRECTIONS, LEDGER_ADJUSTMENTS, DENIAL_APPEALS),
            consumes=(CLAIM_DENIED, PAYMENT_RECEIVED, CLAIM_SUBMITTED, CLAIM_STATUS),
            group_prefix="denials",
        ),
        KafkaPrincipal(
            "notifications",
            produces=(PATIENT_ACCOUNT,),
            consumes=CORE_TOPICS,
            group_prefix="notifications",
            reads_dead_letters=True,
        ),
    )
}
"""One principal per service, named like the service (and like its database role)."""

ANALYTICS = KafkaPrincipal(
    ANALYTICS_PRINCIPAL, produces=(), consumes=CORE_TOPICS, group_prefix=ANALYTICS_GROUP, parks_dead_letters=False
)
"""The analytics sink reads every topic and writes none."""

PRINCIPALS: tuple[KafkaPrincipal, ...] = (*SERVICE_PRINCIPALS.values(), ANALYTICS)


def all_bindings(deployment_group_prefix: str = "") -> list[AclBinding]:
    return [binding for principal in PRINCIPALS for binding in principal.bindings(deployment_group_prefix)]


def acl_script_lines(deployment_group_prefix: str = "") -> list[str]:
    """The bindings as `allow PRINCIPAL "OPERATIONS" topic|group "NAMES" [prefixed]` lines, one per principal,
    operation set and resource kind: what the compose and Kubernetes one-shots run with `kafka-acls.sh`."""
    grouped: dict[tuple[str, ResourceType, PatternType, frozenset[Operation]], list[str]] = {}
    for principal in PRINCIPALS:
        by_resource: dict[tuple[ResourceType, str, PatternType], set[Operation]] = {}
        for binding in principal.bindings(deployment_group_prefix):
            key = (binding.resource_type, binding.resource_name, binding.pattern)
            by_resource.setdefault(key, set()).add(binding.operation)
        for (kind, name, pattern), allowed in by_resource.items():
            grouped.setdefault((principal.name, kind, pattern, frozenset(allowed)), []).append(name)
    lines = []
    for (principal_name, kind, pattern, operation_set), names in grouped.items():
        words = " ".join(op.name.capitalize() for op in sorted(operation_set))
        suffix = " prefixed" if pattern is PatternType.PREFIXED else ""
        lines.append(f'allow {principal_name} "{words}" {kind.name.lower()} "{" ".join(names)}"{suffix}')
    return lines
