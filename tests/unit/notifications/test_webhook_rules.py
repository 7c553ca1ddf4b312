"""Webhook rules without servers: Standard Webhooks signatures, thin payloads, retries, disabling, SSRF."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifications.domain.secret_box import SecretBox, SecretUnreadable
from services.notifications.domain.webhooks import (
    Outcome,
    SigningKeys,
    TargetPolicy,
    UnknownEventType,
    UnsafeTarget,
    new_secret,
    next_attempt_delay,
    outcome_of,
    should_disable,
    subscribes_to,
    validate_event_types,
    webhook_body,
    webhook_id,
)
from services.notifications.settings import DEFAULT_RETRY_SCHEDULE_S
from shared.events.catalog import EVENT_TYPES, Adjustment, EncounterCodedV1, PaymentReceivedV1
from tests.support.pipeline import coded_encounter

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def test_a_signed_delivery_verifies_with_the_standard_library_and_a_tampered_one_does_not() -> None:
    secret = new_secret()
    body = '{"type":"claim-submitted.v1","data":{"claim_id":"c-1","total_charge_cents":15500}}'
    now = dt.datetime.now(dt.UTC)
    headers = SigningKeys.of(secret).headers("msg_1", now, body)

    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("15500", "15501"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_2"})
    forged = headers["webhook-signature"][:-6] + (
        "AAAAA=" if not headers["webhook-signature"].endswith("AAAAA=") else "BBBBB="
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-signature": forged})
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_after_a_rotation_both_secrets_verify_until_the_grace_ends() -> None:
    old, new = new_secret(), new_secret()
    body = "{}"
    now = dt.datetime.now(dt.UTC)
    headers = SigningKeys.of(new, old).headers("msg_1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    only_new = SigningKeys.of(new).headers("msg_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, only_new)


def test_signatures_from_keyed_hmac_states_equal_the_standard_librarys_byte_for_byte() -> None:
    old, new = new_secret(), new_secret()
    body = '{"type":"claim-status-changed.v1","data":{"claim_id":"c-1"}}'
    keys = SigningKeys.of(new, old)
    for at in (
        NOW,
        NOW + dt.timedelta(microseconds=999_999),
        dt.datetime(2030, 1, 1, 0, 0, 59, 500_000, tzinfo=dt.UTC),
    ):
        headers = keys.headers("msg_2", at, body)
        library = [Webhook(secret).sign("msg_2", at, body) for secret in (new, old)]
        assert headers["webhook-signature"] == " ".join(library)
        assert headers["webhook-timestamp"] == str(int(at.timestamp()))
        assert keys.signature("msg_2", at, body) == headers["webhook-signature"]
    again = keys.headers("msg_2", NOW, body)  # the keyed states are copied, never consumed
    assert again == keys.headers("msg_2", NOW, body)


def test_webhook_id_is_stable_per_event_and_subscription() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert webhook_id(first, "event-1") == webhook_id(first, "event-1")
    assert webhook_id(first, "event-1") != webhook_id(second, "event-1")
    assert webhook_id(first, "event-1") != webhook_id(first, "event-2")


def test_the_payload_of_an_encounter_carries_ids_and_amounts_but_no_phi() -> None:
    names = {"last_name": "ZZCANARYLAST", "first_name": "ZZCANARYFIRST", "birth_date": "1961-02-03"}
    encounter = EncounterCodedV1.model_validate(
        {
            **coded_encounter(),
            "encounter_id": str(uuid.uuid4()),
            "phi": {
                "patient": names,
                "subscribers": [{"coverage_id": str(uuid.uuid4()), "member_id": "ZZMEMBER123", "subscriber": names}],
            },
        }
    )
    body = webhook_body(event_id="e-1", event_type="encounter-coded.v1", occurred_at=NOW, payload=encounter)
    for canary in ("ZZCANARYLAST", "ZZCANARYFIRST", "1961-02-03", "ZZMEMBER123", "2026-11-02"):
        assert canary not in body
    data = json.loads(body)["data"]
    assert data["encounter_id"] == str(encounter.encounter_id)
    assert data["total_charge_cents"] == 15500


def test_the_payload_of_a_payment_carries_its_amounts_in_cents() -> None:
    payment = PaymentReceivedV1(
        payment_id=uuid.uuid4(),
        claim_control_number="CLM1",
        payer_id="SANDBOX",
        trace_number="T1",
        claim_status_code="1",
        charge_cents=15500,
        paid_cents=10000,
        patient_responsibility_cents=2000,
        adjustments=[Adjustment(group="CO", carc="45", amount_cents=3500)],
        next_responsible="patient",
        paid_date=dt.date(2026, 11, 20),
    )
    data = json.loads(webhook_body(event_id="e", event_type="payment-received.v1", occurred_at=NOW, payload=payment))[
        "data"
    ]
    assert (data["charge_cents"], data["paid_cents"], data["patient_responsibility_cents"]) == (15500, 10000, 2000)
    assert data["adjustment_cents"] == 3500
    assert data["charge_cents"] == data["paid_cents"] + data["adjustment_cents"] + data["patient_responsibility_cents"]


def test_event_type_filters() -> None:
    assert validate_event_types(["claim-denied.v1", "claim-denied.v1"]) == ["claim-denied.v1"]
    with pytest.raises(UnknownEventType):
        validate_event_types(["claim-exploded.v1"])
    assert subscribes_to([], "claim-denied.v1")
    assert subscribes_to(["claim-denied.v1"], "claim-denied.v1")
    assert not subscribes_to(["claim-denied.v1"], "payment-received.v1")


def test_outcomes() -> None:
    assert outcome_of(200) is Outcome.DELIVERED
    assert outcome_of(204) is Outcome.DELIVERED
    assert outcome_of(410) is Outcome.GONE
    for code in (None, 301, 400, 404, 429, 500, 503):
        assert outcome_of(code) is Outcome.RETRY


def test_retries_follow_the_schedule_with_jitter_then_stop() -> None:
    rng = random.Random(7)
    for made, base in enumerate(DEFAULT_RETRY_SCHEDULE_S):
        delay = next_attempt_delay(made, DEFAULT_RETRY_SCHEDULE_S, 0.2, rng)
        assert delay is not None
        assert base * 0.8 <= delay <= base * 1.2
    assert next_attempt_delay(len(DEFAULT_RETRY_SCHEDULE_S), DEFAULT_RETRY_SCHEDULE_S, 0.2, rng) is None
    delays = {next_attempt_delay(2, DEFAULT_RETRY_SCHEDULE_S, 0.2, rng) for _ in range(20)}
    assert len(delays) > 1, "jitter spreads the retries"
    assert sum(DEFAULT_RETRY_SCHEDULE_S) > 24 * 3600, "retries go on for more than a day"


def test_a_subscription_is_disabled_only_after_enough_failures_for_long_enough() -> None:
    since = NOW - dt.timedelta(hours=2)
    assert not should_disable(4, since, NOW, after_failures=5, after_s=3600)
    assert not should_disable(5, NOW - dt.timedelta(minutes=5), NOW, after_failures=5, after_s=3600)
    assert not should_disable(5, None, NOW, after_failures=5, after_s=3600)
    assert should_disable(5, since, NOW, after_failures=5, after_s=3600)


STRICT = TargetPolicy(allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/claimflow",
        "ftp://hooks.example.com/",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.9/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00::1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
        "https://user:pw@hooks.example.com/",
        "https://metadata.internal/",
    ],
)
def test_unsafe_targets_are_refused_outside_development(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        STRICT.check_url(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.8", "::1", "::ffff:10.0.0.1", "169.254.1.1", "224.0.0.1"])
def test_a_hostname_resolving_to_a_private_address_is_refused(address: str) -> None:
    assert STRICT.check_url("https://hooks.example.com/x") == ("hooks.example.com", 443)
    with pytest.raises(UnsafeTarget):
        STRICT.check_address(address)


def test_public_https_targets_pass_and_development_allows_local_ones() -> None:
    assert STRICT.check_url("https://93.184.216.34:8443/hook") == ("93.184.216.34", 8443)
    STRICT.check_address("93.184.216.34")
    STRICT.check_address("2606:2800:220:1:248:1893:25c8:1946")
    development = TargetPolicy(allow_private=True)
    assert development.check_url("http://127.0.0.1:9000/hook") == ("127.0.0.1", 9000)
    development.check_address("127.0.0.1")


def test_secrets_are_sealed_and_bound_to_their_subscription() -> None:
    box = SecretBox(bytes(range(32)))
    secret = new_secret()
    sealed = box.seal(secret, "sub-1")
    assert secret.encode() not in sealed
    assert box.open(sealed, "sub-1") == secret
    with pytest.raises(SecretUnreadable):
        box.open(sealed, "sub-2")
    with pytest.raises(SecretUnreadable):
        SecretBox(bytes(32)).open(sealed, "sub-1")
    with pytest.raises(ValueError):
        SecretBox(b"short")


CANARIES = ("ZZCANARYLAST", "ZZCANARYFIRST", "1961-02-03", "ZZMEMBER123", "2026-11-02", "ZZFREETEXT")
PERSON = {"last_name": "ZZCANARYLAST", "first_name": "ZZCANARYFIRST", "birth_date": "1961-02-03"}


def _one_of_every_event_type() -> dict[str, dict[str, Any]]:
    """A payload of every catalog event type, its PHI and free text canaries; dates are the canary date of service."""
    ids = {name: str(uuid.uuid4()) for name in ("claim", "case", "action", "patient", "plan", "party", "coverage")}
    appeal = {"action_id": ids["action"], "case_id": ids["case"], "claim_id": ids["claim"]} | {
        "claim_control_number": "C1"
    }
    return {
        "encounter-coded.v1": {**coded_encounter(), "encounter_id": str(uuid.uuid4())},
        "claim-submitted.v1": {
            "claim_id": ids["claim"], "encounter_id": str(uuid.uuid4()), "claim_control_number": "C1",
            "payer_id": "SANDBOX", "claim_type": "professional", "total_charge_cents": 15500,
            "lines": [{"line_number": 1, "line_control_number": "1", "procedure_code": "99213", "units": 1,
                       "charge_cents": 15500}],
            "interchange_control_number": "000000001", "submitted_at": "2026-11-02T10:00:00Z",
            "service_date_from": "2026-11-02",
        },
        "payment-received.v1": {
            "payment_id": str(uuid.uuid4()), "claim_control_number": "C1", "payer_id": "SANDBOX", "trace_number": "T1",
            "claim_status_code": "1", "charge_cents": 100, "paid_cents": 100, "patient_responsibility_cents": 0,
            "next_responsible": "none", "paid_date": "2026-11-02",
        },
        "claim-denied.v1": {
            "claim_control_number": "C1", "payer_id": "SANDBOX", "trace_number": "T1", "denial": "full",
            "denied_cents": 100, "carcs": ["50"],
        },
        "claim-status-changed.v1": {
            "claim_id": ids["claim"], "claim_control_number": "C1", "payer_id": "SANDBOX", "from_state": "submitted",
            "to_state": "accepted", "source": "277CA", "changed_at": "2026-11-29T10:00:00Z",
        },
        "patient-payment-submitted.v1": {
            "payment_id": str(uuid.uuid4()), "patient_id": ids["patient"], "statement_id": str(uuid.uuid4()),
            "amount_cents": 2500, "submitted_on": "2026-11-02",
        },
        "patient-payment-received.v1": {
            "payment_id": str(uuid.uuid4()), "patient_id": ids["patient"], "amount_cents": 2500, "method": "card",
            "received_on": "2026-11-02",
        },
        "payment-plan-changed.v1": {
            "plan_id": ids["plan"], "patient_id": ids["patient"], "status": "active", "total_cents": 5000,
            "installments": [{"number": 1, "due_on": "2026-11-02", "amount_cents": 5000}], "changed_on": "2026-11-02",
        },
        "claim-correction-requested.v1": {
            **appeal, "frequency_code": "7", "prior_authorization": "ZZFREETEXT", "reason": "ZZFREETEXT",
        },
        "claim-corrected.v1": {
            **appeal, "original_claim_id": str(uuid.uuid4()), "original_claim_control_number": "C0",
            "frequency_code": "7",
        },
        "ledger-adjustment-requested.v1": {
            **appeal, "kind": "write_off", "amount_cents": 400, "reason_code": "45",
        },
        "appeal-filed.v1": {
            **appeal, "payer_id": "SANDBOX", "appeal_level": 1, "amount_cents": 900, "carcs": ["197"],
            "file_name": "ZZFREETEXT.pdf",
        },
        "party-changed.v1": {
            "party_kind": "patient", "party_id": ids["party"], "patient_id": ids["patient"],
            "changed_fields": ["last_name"], "phi": {"patient": PERSON},
        },
        "coverage-correction-requested.v1": {
            "claim_id": ids["claim"], "coverage_id": ids["coverage"], "patient_id": ids["patient"],
            "member_id": "ZZMEMBER123",
        },
        "claim-cancelled.v1": {
            "claim_id": ids["claim"], "encounter_id": str(uuid.uuid4()), "claim_control_number": "C1",
            "from_state": "on_hold", "reason": "ZZFREETEXT", "cancelled_at": "2026-11-29T10:00:00Z",
        },
    }  # fmt: skip


def test_every_event_type_has_a_thin_payload_without_phi_or_free_text() -> None:
    """A subscription to every event (no filter) gets each catalog type; one without a payload would fail the
    notifications consumer's whole batch until it went to the dead letters (claim-corrected.v1 did)."""
    samples = _one_of_every_event_type()
    assert samples.keys() == EVENT_TYPES.keys()
    for event_type, document in samples.items():
        payload = EVENT_TYPES[event_type][1].model_validate(document)
        body = webhook_body(event_id="e-1", event_type=event_type, occurred_at=NOW, payload=payload)
        for canary in CANARIES:
            assert canary not in body, (event_type, canary)
        data = json.loads(body)["data"]
        assert data, event_type
        named = {name: value for name, value in document.items() if name not in ("payer_id", "member_id")}
        ids = {str(value) for name, value in named.items() if name.endswith("_id")}
        assert ids <= {str(value) for value in data.values()}, event_type  # every id the event names is passed on
