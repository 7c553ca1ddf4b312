"""Synthetic claims, one builder per claim shape the 837 writer supports.

Every name, identifier and number here is invented; NPIs merely satisfy the Luhn check.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.claims.domain.claim import (
    Address,
    Adjustment,
    AdjustmentGroup,
    Admission,
    BillingProvider,
    Claim,
    ClaimFilingIndicator,
    ClaimFrequency,
    DrugIdentification,
    DrugUnit,
    InstitutionalDetails,
    LineAdjudication,
    OtherPayer,
    Patient,
    Payer,
    PayerResponsibility,
    Provider,
    Receiver,
    Relationship,
    ServiceFacility,
    ServiceLine,
    Sex,
    Submitter,
    Subscriber,
    TaxIdQualifier,
)
from services.claims.domain.control_numbers import ControlNumbers

CREATED_AT = datetime(2025, 3, 14, 9, 30)
CONTROL = ControlNumbers(interchange=1001, group=2001, transaction=3001)
SERVICE_DAY = date(2025, 3, 3)
REMIT_DAY = date(2025, 3, 12)

SUBMITTER = Submitter(
    name="CLAIMFLOW BILLING", identifier="CLAIMFLOW01", contact_name="EDI DESK", contact_phone="5555550100"
)
RECEIVER = Receiver(name="SANDBOX CLEARINGHOUSE", identifier="SANDBOXCH")

CLINIC = BillingProvider(
    npi="1234567893",
    name="RIVERSIDE FAMILY MEDICINE",
    taxonomy="207Q00000X",
    tax_id="123456789",
    tax_id_qualifier=TaxIdQualifier.EIN,
    address=Address("100 MAIN ST", "SPRINGFIELD", "IL", "627010001", line2="SUITE 200"),
    pay_to_address=Address("PO BOX 4400", "SPRINGFIELD", "IL", "62708"),
)
HOSPITAL = BillingProvider(
    npi="1122333341",
    name="SPRINGFIELD GENERAL HOSPITAL",
    taxonomy="282N00000X",
    tax_id="987654321",
    tax_id_qualifier=TaxIdQualifier.EIN,
    address=Address("800 HOSPITAL DR", "SPRINGFIELD", "IL", "627020800"),
)

ACME = Payer(
    name="ACME HEALTH PLAN",
    payer_id="ACME01",
    claim_filing_indicator=ClaimFilingIndicator.COMMERCIAL,
    address=Address("PO BOX 1000", "CHICAGO", "IL", "60601"),
)
BEACON = Payer(name="BEACON MUTUAL", payer_id="BEACON02", claim_filing_indicator=ClaimFilingIndicator.PPO)

HOME = Address("42 ELM ST", "SPRINGFIELD", "IL", "62704")
JANE = Subscriber(
    member_id="ACM900000001",
    last_name="DOE",
    first_name="JANE",
    middle_name="Q",
    birth_date=date(1980, 5, 1),
    sex=Sex.FEMALE,
    address=HOME,
    group_number="GRP100",
    group_name="SPRINGFIELD SCHOOLS",
)
JANE_AT_BEACON = Subscriber(
    member_id="BCN700000002",
    last_name="DOE",
    first_name="JANE",
    birth_date=date(1980, 5, 1),
    sex=Sex.FEMALE,
    address=HOME,
    group_number="BG77",
)
TIMMY = Patient(
    last_name="DOE",
    first_name="TIMMY",
    birth_date=date(2015, 8, 9),
    sex=Sex.MALE,
    address=HOME,
    relationship=Relationship.CHILD,
)

DR_RIVERA = Provider(npi="1999996667", last_name="RIVERA", first_name="ANA", taxonomy="207Q00000X")
DR_CHEN = Provider(npi="1581234568", last_name="CHEN", first_name="WEI", middle_name="L")
DR_OKAFOR = Provider(npi="1045678905", last_name="OKAFOR", first_name="NKEM", taxonomy="207RC0000X")
LAB = ServiceFacility(
    name="SPRINGFIELD IMAGING CENTER", address=Address("9 LAB WAY", "SPRINGFIELD", "IL", "62703"), npi="1765432103"
)


def professional_claim(**overrides: Any) -> Claim:
    """An office visit with a urinalysis, subscriber is the patient."""
    lines = (
        ServiceLine(
            charge_cents=15000,
            units=1,
            procedure_code="99214",
            modifiers=("25",),
            diagnosis_pointers=(1, 2),
            service_date=SERVICE_DAY,
            control_number="LN-1",
        ),
        ServiceLine(
            charge_cents=2500,
            units=1,
            procedure_code="81002",
            diagnosis_pointers=(1,),
            service_date=SERVICE_DAY,
            control_number="LN-2",
        ),
    )
    fields: dict[str, Any] = {
        "control_number": "PCN-P-0001",
        "submitter": SUBMITTER,
        "receiver": RECEIVER,
        "billing_provider": CLINIC,
        "subscriber": JANE,
        "payer": ACME,
        "total_charge_cents": 17500,
        "diagnoses": ("E11.9", "I10"),
        "lines": lines,
    }
    fields.update(overrides)
    return Claim(**fields)


def dependent_claim(**overrides: Any) -> Claim:
    """A child seen under a parent's coverage (loop 2000C)."""
    fields: dict[str, Any] = {"control_number": "PCN-D-0001", "patient": TIMMY, "diagnoses": ("J06.9", "R50.9")}
    fields.update(overrides)
    return professional_claim(**fields)


def referring_rendering_claim(**overrides: Any) -> Claim:
    """Referred by one clinician, rendered by another, at a separate facility."""
    fields: dict[str, Any] = {
        "control_number": "PCN-R-0001",
        "referring_provider": DR_CHEN,
        "rendering_provider": DR_RIVERA,
        "service_facility": LAB,
        "place_of_service": "22",
    }
    fields.update(overrides)
    return professional_claim(**fields)


def prior_authorization_claim(**overrides: Any) -> Claim:
    fields: dict[str, Any] = {"control_number": "PCN-A-0001", "prior_authorization": "AUTH-55501"}
    fields.update(overrides)
    return professional_claim(**fields)


def corrected_claim(**overrides: Any) -> Claim:
    """A replacement (frequency 7) of a claim the payer knows as PAYERICN0001."""
    fields: dict[str, Any] = {
        "control_number": "PCN-C-0001",
        "frequency": ClaimFrequency.REPLACEMENT,
        "original_claim_number": "PAYERICN0001",
    }
    fields.update(overrides)
    return professional_claim(**fields)


def void_claim(**overrides: Any) -> Claim:
    fields: dict[str, Any] = {
        "control_number": "PCN-V-0001",
        "frequency": ClaimFrequency.VOID,
        "original_claim_number": "PAYERICN0002",
    }
    fields.update(overrides)
    return professional_claim(**fields)


def drug_claim(**overrides: Any) -> Claim:
    """An injection billed with its J-code and the NDC of the vial used (loop 2410)."""
    lines = (
        ServiceLine(
            charge_cents=5000,
            units=1,
            procedure_code="96372",
            diagnosis_pointers=(1,),
            service_date=SERVICE_DAY,
        ),
        ServiceLine(
            charge_cents=5337,
            units=Decimal("2.5"),
            procedure_code="J1100",
            modifiers=("JZ",),
            diagnosis_pointers=(1,),
            service_date=SERVICE_DAY,
            drug=DrugIdentification(ndc="00009047301", quantity=Decimal("1.25"), unit=DrugUnit.MILLILITER),
        ),
    )
    fields: dict[str, Any] = {
        "control_number": "PCN-N-0001",
        "diagnoses": ("M54.50",),
        "lines": lines,
        "total_charge_cents": 10337,
    }
    fields.update(overrides)
    return professional_claim(**fields)


def _primary_adjudication(revenue_codes: tuple[str | None, str | None] = (None, None)) -> OtherPayer:
    """What ACME's 835 said about ``professional_claim``'s two lines."""
    return OtherPayer(
        payer=ACME,
        responsibility=PayerResponsibility.PRIMARY,
        subscriber=JANE,
        relationship=Relationship.SELF,
        paid_cents=8000,
        adjudication_date=REMIT_DAY,
        line_adjudications=(
            LineAdjudication(
                line_number=1,
                paid_cents=8000,
                adjudication_date=REMIT_DAY,
                paid_units=1,
                revenue_code=revenue_codes[0],
                adjustments=(
                    Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", 5000),
                    Adjustment(AdjustmentGroup.PATIENT_RESPONSIBILITY, "2", 2000),
                ),
                remaining_patient_liability_cents=2000,
            ),
            LineAdjudication(
                line_number=2,
                paid_cents=0,
                adjudication_date=REMIT_DAY,
                paid_units=1,
                revenue_code=revenue_codes[1],
                adjustments=(
                    Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", 500),
                    Adjustment(AdjustmentGroup.PATIENT_RESPONSIBILITY, "1", 2000),
                ),
                remaining_patient_liability_cents=2000,
            ),
        ),
        remaining_patient_liability_cents=4000,
        payer_claim_control_number="ACMEICN778899",
    )


def secondary_claim(**overrides: Any) -> Claim:
    """The same visit billed to BEACON after ACME paid 80.00 (loops 2320/2330A/2330B/2430)."""
    fields: dict[str, Any] = {
        "control_number": "PCN-S-0001",
        "payer": BEACON,
        "subscriber": JANE_AT_BEACON,
        "payer_responsibility": PayerResponsibility.SECONDARY,
        "other_payers": (_primary_adjudication(),),
    }
    fields.update(overrides)
    return professional_claim(**fields)


def secondary_claim_with_claim_level_adjustments(**overrides: Any) -> Claim:
    """Secondary claim where the primary adjudicated at claim level only (2320 CAS, 2330B DTP*573)."""
    other = OtherPayer(
        payer=ACME,
        responsibility=PayerResponsibility.PRIMARY,
        subscriber=JANE,
        relationship=Relationship.SELF,
        paid_cents=11000,
        adjudication_date=REMIT_DAY,
        claim_adjustments=(
            Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", 3500),
            Adjustment(AdjustmentGroup.PATIENT_RESPONSIBILITY, "3", 3000),
        ),
        remaining_patient_liability_cents=3000,
    )
    fields: dict[str, Any] = {"control_number": "PCN-S-0002", "other_payers": (other,)}
    fields.update(overrides)
    return secondary_claim(**fields)


def institutional_claim(**overrides: Any) -> Claim:
    """A three-day inpatient stay: admission, statement dates, CL1, revenue-code lines."""
    details = InstitutionalDetails(
        facility_type_code="11",
        statement_from=date(2025, 3, 1),
        statement_to=date(2025, 3, 4),
        patient_status_code="01",
        attending=DR_OKAFOR,
        admission=Admission(admitted_on=date(2025, 3, 1), type_code="1", source_code="7", hour=14, minute=5),
        admitting_diagnosis="R07.9",
        present_on_admission=("Y", "N", "Y"),
    )
    lines = (
        ServiceLine(charge_cents=360000, units=3, revenue_code="0120", control_number="RB-1"),
        ServiceLine(
            charge_cents=45050, units=2, revenue_code="0300", procedure_code="80053", service_date=date(2025, 3, 2)
        ),
        ServiceLine(
            charge_cents=12500,
            units=1,
            revenue_code="0636",
            procedure_code="J1100",
            service_date=date(2025, 3, 1),
            drug=DrugIdentification(ndc="00009047301", quantity=1, unit=DrugUnit.MILLILITER),
        ),
    )
    fields: dict[str, Any] = {
        "control_number": "PCN-I-0001",
        "billing_provider": HOSPITAL,
        "total_charge_cents": 417550,
        "diagnoses": ("I21.4", "E11.9", "I10"),
        "lines": lines,
        "institutional": details,
    }
    fields.update(overrides)
    return professional_claim(**fields)


def institutional_outpatient_claim(**overrides: Any) -> Claim:
    """An emergency-room visit billed on a 13x bill type: no admission."""
    details = InstitutionalDetails(
        facility_type_code="13",
        statement_from=SERVICE_DAY,
        statement_to=SERVICE_DAY,
        patient_status_code="01",
        attending=DR_OKAFOR,
    )
    lines = (
        ServiceLine(charge_cents=98000, units=1, revenue_code="0450", procedure_code="99284", service_date=SERVICE_DAY),
        ServiceLine(charge_cents=21000, units=1, revenue_code="0320", procedure_code="71046", service_date=SERVICE_DAY),
    )
    fields: dict[str, Any] = {
        "control_number": "PCN-O-0001",
        "billing_provider": HOSPITAL,
        "total_charge_cents": 119000,
        "diagnoses": ("R07.9",),
        "lines": lines,
        "institutional": details,
        "rendering_provider": DR_RIVERA,
        "referring_provider": DR_CHEN,
        "prior_authorization": "AUTH-77",
    }
    fields.update(overrides)
    return professional_claim(**fields)


def institutional_secondary_claim(**overrides: Any) -> Claim:
    """An outpatient claim to BEACON after ACME's line-level adjudication, dependent patient."""
    details = InstitutionalDetails(
        facility_type_code="13",
        statement_from=SERVICE_DAY,
        statement_to=SERVICE_DAY,
        patient_status_code="01",
        attending=DR_OKAFOR,
    )
    lines = (
        ServiceLine(charge_cents=15000, units=1, revenue_code="0450", procedure_code="99283", service_date=SERVICE_DAY),
        ServiceLine(charge_cents=2500, units=1, revenue_code="0300", service_date=SERVICE_DAY),
    )
    primary = _primary_adjudication(revenue_codes=(None, "0300"))
    primary = replace(primary, relationship=Relationship.CHILD)
    fields: dict[str, Any] = {
        "control_number": "PCN-IS-0001",
        "billing_provider": HOSPITAL,
        "patient": TIMMY,
        "payer": BEACON,
        "subscriber": JANE_AT_BEACON,
        "payer_responsibility": PayerResponsibility.SECONDARY,
        "total_charge_cents": 17500,
        "diagnoses": ("S93.401A",),
        "lines": lines,
        "institutional": details,
        "other_payers": (primary,),
    }
    fields.update(overrides)
    return professional_claim(**fields)


SHAPES = {
    "professional": professional_claim,
    "dependent": dependent_claim,
    "referring_rendering": referring_rendering_claim,
    "prior_authorization": prior_authorization_claim,
    "corrected": corrected_claim,
    "void": void_claim,
    "drug_ndc": drug_claim,
    "secondary_line_level": secondary_claim,
    "secondary_claim_level": secondary_claim_with_claim_level_adjustments,
    "institutional_inpatient": institutional_claim,
    "institutional_outpatient": institutional_outpatient_claim,
    "institutional_secondary": institutional_secondary_claim,
}
