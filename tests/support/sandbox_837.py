"""Synthetic 837s for the sandbox tests: invented people and numbers; NPIs only satisfy the Luhn check."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from services.claims.domain.claim import (
    Address,
    BillingProvider,
    Claim,
    ClaimFilingIndicator,
    InstitutionalDetails,
    Patient,
    Payer,
    Provider,
    Receiver,
    Relationship,
    ServiceLine,
    Sex,
    Submitter,
    Subscriber,
    TaxIdQualifier,
)
from services.claims.domain.control_numbers import ControlNumbers
from services.claims.domain.x12_837 import write_batches

SERVICE_DAY = date(2025, 3, 3)
RECEIVED_AT = datetime(2025, 3, 20, 10, 0)
SUBMITTER = Submitter(
    name="CLAIMFLOW BILLING", identifier="CLAIMFLOW01", contact_name="EDI", contact_phone="5555550100"
)
RECEIVER = Receiver(name="SANDBOX CLEARINGHOUSE", identifier="SANDBOXCH")
HOME = Address("1 TEST ST", "TESTVILLE", "IL", "62704")
CLINIC = BillingProvider(
    npi="1234567893",
    name="TEST FAMILY CLINIC",
    taxonomy="207Q00000X",
    tax_id="123456789",
    tax_id_qualifier=TaxIdQualifier.EIN,
    address=Address("100 MAIN ST", "TESTVILLE", "IL", "627010001"),
)
HOSPITAL = replace(CLINIC, npi="1122333341", name="TEST GENERAL HOSPITAL", taxonomy="282N00000X")
PAYER = Payer(name="SYNTHETIC HEALTH PLAN", payer_id="SYN01", claim_filing_indicator=ClaimFilingIndicator.PPO)
SUBSCRIBER = Subscriber(
    member_id="SYN900000001",
    last_name="TESTPERSON",
    first_name="ALEX",
    birth_date=date(1980, 5, 1),
    sex=Sex.FEMALE,
    address=HOME,
)
CHILD = Patient(
    last_name="TESTPERSON",
    first_name="SAM",
    birth_date=date(2015, 8, 9),
    sex=Sex.MALE,
    address=HOME,
    relationship=Relationship.CHILD,
)


def line(charge_cents: int, code: str = "99213", **overrides: Any) -> ServiceLine:
    fields: dict[str, Any] = {
        "charge_cents": charge_cents,
        "units": 1,
        "procedure_code": code,
        "diagnosis_pointers": (1,),
        "service_date": SERVICE_DAY,
    }
    fields.update(overrides)
    return ServiceLine(**fields)


def professional(control_number: str, *lines: ServiceLine, **overrides: Any) -> Claim:
    lines = lines or (line(10000, control_number=f"{control_number}-L1"), line(5000, "81002"))
    fields: dict[str, Any] = {
        "control_number": control_number,
        "submitter": SUBMITTER,
        "receiver": RECEIVER,
        "billing_provider": CLINIC,
        "subscriber": SUBSCRIBER,
        "payer": PAYER,
        "total_charge_cents": sum(item.charge_cents for item in lines),
        "diagnoses": ("E11.9",),
        "lines": lines,
    }
    fields.update(overrides)
    return Claim(**fields)


def institutional(control_number: str, **overrides: Any) -> Claim:
    lines = (
        ServiceLine(
            charge_cents=120000, units=1, revenue_code="0450", procedure_code="99284", service_date=SERVICE_DAY
        ),
        ServiceLine(charge_cents=30000, units=2, revenue_code="0300", service_date=SERVICE_DAY),
    )
    fields: dict[str, Any] = {
        "billing_provider": HOSPITAL,
        "lines": lines,
        "total_charge_cents": 150000,
        "institutional": InstitutionalDetails(
            facility_type_code="13",
            statement_from=SERVICE_DAY,
            statement_to=SERVICE_DAY,
            patient_status_code="01",
            attending=Provider(npi="1999996667", last_name="ATTENDING", first_name="PAT"),
        ),
    }
    fields.update(overrides)
    return professional(control_number, **fields)


def x12_837(*claims: Claim) -> bytes:
    """One 837 file (all claims share submitter, receiver and payer here)."""
    batch = write_batches(claims, ControlNumbers(7001, 7001, 7001), datetime(2025, 3, 14, 9, 30))
    (interchange,) = batch.interchanges
    return interchange.text.encode()
