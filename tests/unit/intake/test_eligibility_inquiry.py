"""What a 270 asks about a registered coverage (`inquiry_about`): who the subscriber is, who the dependent."""

from __future__ import annotations

import datetime as dt
import uuid

from services.intake.domain.eligibility import file_name_of, inquiry_about, trace_number_of
from tests.support.intake_builders import ADDRESS, BILLING_NPI, DAY, PATIENT, coverage, payer, provider

CHECK_ID = uuid.UUID("0b9e4c1e-5d0a-4f4e-9d51-2f5f8c7a1b2c")
SUBSCRIBER = {"last_name": "DOE", "first_name": "JOHN", "birth_date": "1978-02-20", "sex": "M", "address": ADDRESS}


def test_the_patient_is_the_subscriber_of_their_own_coverage() -> None:
    asked = inquiry_about(
        CHECK_ID, patient=PATIENT, coverage=coverage("SANDBOX", "primary"), payer=payer("SANDBOX"),
        provider=provider(BILLING_NPI, entity="organization", name="SYNTHETIC CLINIC", first_name=None),
        service_date=DAY,
    )  # fmt: skip
    assert (asked.subscriber.last_name, asked.subscriber.first_name) == ("DOE", "JANE")
    assert asked.subscriber.birth_date == dt.date(1980, 1, 1) and asked.subscriber.sex == "F"
    assert asked.dependent is None
    assert (asked.member_id, asked.payer_id, asked.payer_name) == ("MPRI0001", "SANDBOX", "SANDBOX HEALTH PLAN")
    assert (asked.provider_name, asked.provider_npi) == ("SYNTHETIC CLINIC", BILLING_NPI)
    assert asked.trace_number == "0B9E4C1E5D0A4F4E9D512F5F8C7A1B2C" == trace_number_of(CHECK_ID)
    assert file_name_of(CHECK_ID) == "270-0b9e4c1e5d0a4f4e9d512f5f8c7a1b2c.x12"


def test_a_dependent_is_asked_about_under_the_subscriber_and_an_individual_provider_by_full_name() -> None:
    dependent = coverage("SANDBOX", "primary", relationship="19", subscriber=SUBSCRIBER)
    asked = inquiry_about(
        CHECK_ID, patient=PATIENT, coverage=dependent, payer=payer("SANDBOX"), provider=provider(BILLING_NPI),
        service_date=DAY,
    )  # fmt: skip
    assert (asked.subscriber.first_name, asked.subscriber.sex) == ("JOHN", "M")
    assert asked.dependent is not None and asked.dependent.first_name == "JANE"
    assert asked.provider_name == "SMITH ALEX" and asked.service_date == DAY


def test_an_unknown_sex_is_left_out_of_the_270() -> None:
    patient = PATIENT.model_copy(update={"sex": "U"})
    asked = inquiry_about(
        CHECK_ID, patient=patient, coverage=coverage("SANDBOX", "primary"), payer=payer("SANDBOX"),
        provider=provider(BILLING_NPI), service_date=DAY,
    )  # fmt: skip
    assert asked.subscriber.sex is None
