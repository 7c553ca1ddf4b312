"""Each service's Kafka principal is allowed exactly what its definition reads, and writes only what it owns."""

from __future__ import annotations

import pytest

from services.claims.app import DEFINITION as CLAIMS
from services.denials.app import DEFINITION as DENIALS
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remittance.app import DEFINITION as REMITTANCE
from shared.messaging.principals import ANALYTICS, SERVICE_PRINCIPALS, Operation, PatternType, ResourceType
from shared.messaging.topics import CORE_TOPICS, DLT_SUFFIX
from shared.service import ServiceDefinition

DEFINITIONS = (INTAKE, CLAIMS, REMITTANCE, DENIALS, NOTIFICATIONS)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_a_services_principal_reads_exactly_the_topics_it_subscribes_to(definition: ServiceDefinition) -> None:
    principal = SERVICE_PRINCIPALS[definition.name]
    subscribed = {topic for subscription in definition.subscriptions for topic in subscription.topics}
    assert {topic.name for topic in principal.consumes} == subscribed
    for subscription in definition.subscriptions:
        assert subscription.group_id.startswith(principal.group_prefix), "its groups are allowed by prefix"


def test_every_core_topic_has_exactly_one_owner_but_patient_account() -> None:
    owners = {topic.name: [p.name for p in SERVICE_PRINCIPALS.values() if topic in p.produces] for topic in CORE_TOPICS}
    assert owners.pop("patient-account") == ["remittance", "notifications"]  # payments made on the statement page
    assert all(len(names) == 1 for names in owners.values()), owners


def test_a_principal_writes_the_dead_letter_twins_of_what_it_reads_and_nothing_else() -> None:
    claims = SERVICE_PRINCIPALS["claims"]
    writes = {b.resource_name for b in claims.bindings() if b.operation is Operation.WRITE}
    assert writes == {"claim-submitted", "claim-status", "claim-changes"} | {t.dead_letter for t in claims.consumes}
    assert not claims.may_write("claim-denied")
    assert not SERVICE_PRINCIPALS["intake"].may_read("encounter-coded")


def test_group_acls_follow_the_deployments_prefix_and_analytics_writes_nothing() -> None:
    (group,) = [
        b for b in SERVICE_PRINCIPALS["denials"].bindings("session-1.") if b.resource_type is ResourceType.GROUP
    ]
    assert (group.resource_name, group.pattern, group.operation) == (
        "session-1.denials",
        PatternType.PREFIXED,
        Operation.READ,
    )
    assert not [b for b in ANALYTICS.bindings() if b.operation is Operation.WRITE]
    notifications_reads = {
        b.resource_name for b in SERVICE_PRINCIPALS["notifications"].bindings() if b.operation is Operation.READ
    }
    assert {t.name + DLT_SUFFIX for t in CORE_TOPICS} <= notifications_reads, "ops alerts count dead letters"
