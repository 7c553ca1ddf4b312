"""Paper claims: where each field of a claim goes on the CMS-1500 (02/12) and the UB-04, as pure data.

Payers without EDI, some secondary payers and appeal packets still need paper. A form is a set of
`FormBox`es (each box as printed on the form: its number and caption, and its rectangle); filling a form
maps a `Claim` to the text of each box, page by page (six service lines per CMS-1500 page, 22 per UB-04
page). Drawing the PDF is `paper_pdf`'s job; this module decides only what goes where.

Boxes are laid out on the forms' own print grid, 10 characters per inch and 6 lines per inch on US
letter paper, so a box is (line, column, columns, lines) of that grid. The CMS-1500 follows the NUCC
1500 Claim Form Reference Instruction Manual (02/12) for what each item holds; the UB-04 the NUBC form
locators (FL). Codes are printed as the manuals ask: ICD-10 codes without their dot, dates MM DD YY.

Repeating UB-04 code fields (FL31-34 occurrences, FL35-36 spans, FL39-41 values) are filled across the
form locators, then down their a, b... rows; codes past the form's room (the 837I carries up to 24 of each)
go to FL80 remarks rather than being dropped. FL75 (unlabelled, reserved) is not drawn: its room holds
the other procedures FL74a-e.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.claims.domain.claim import (
    Accident,
    Address,
    AssignmentCode,
    Attachment,
    Claim,
    ClaimFilingIndicator,
    ClaimFrequency,
    ClaimKind,
    InstitutionalDetails,
    OtherCoverage,
    OtherPayer,
    PayerResponsibility,
    Provider,
    RelatedCause,
    Relationship,
    ReleaseOfInformation,
    ServiceLine,
    Sex,
    Subscriber,
    TaxIdQualifier,
    UnitBasis,
)
from shared.codesets import tables
from shared.codesets.formats import REVENUE_CODE

PAGE_WIDTH = 612.0
PAGE_HEIGHT = 792.0
"""US letter, in PDF points (1/72 inch), origin at the bottom left."""
COLUMN = 7.2
"""One print column: 10 characters per inch."""
LINE = 12.0
"""One print line: 6 lines per inch."""
LEFT_MARGIN = 18.0
TOP_MARGIN = 30.0


@dataclass(frozen=True, slots=True)
class FormBox:
    """One box of a form: `key` as the form numbers it ("1a", "24D.3", "FL42.1"), the caption printed in
    it, and its rectangle in points (`x`, `y` its bottom-left corner)."""

    key: str
    caption: str
    x: float
    y: float
    width: float
    height: float

    def holds(self, x: float, y: float) -> bool:
        """Whether the point (a text's start on its baseline) lies inside the box."""
        return self.x <= x <= self.x + self.width and self.y <= y <= self.y + self.height


@dataclass(frozen=True, slots=True)
class FilledBox:
    """A box and the lines of text printed in it (top line first)."""

    box: FormBox
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaperForm:
    name: str
    title: str
    boxes: tuple[FormBox, ...]
    lines_per_page: int
    """Service lines one page holds."""

    def box(self, key: str) -> FormBox:
        for box in self.boxes:
            if box.key == key:
                return box
        raise KeyError(key)


_OTHER_DIAGNOSES = "ABCDEFGHIJKLMNOP"
"""UB-04 FL67A-Q (Q is never printed here: 17 other diagnoses would not fit the 837I's 12 either)."""


def _box(key: str, caption: str, line: float, column: float, columns: float, lines: float = 2) -> FormBox:
    top = PAGE_HEIGHT - TOP_MARGIN - line * LINE
    return FormBox(key, caption, LEFT_MARGIN + column * COLUMN, top - lines * LINE, columns * COLUMN, lines * LINE)


def _cms1500_boxes() -> tuple[FormBox, ...]:
    boxes = [
        _box("carrier", "CARRIER: PAYER NAME AND ADDRESS", 0, 46, 34, 4),
        _box("1", "1. MEDICARE  MEDICAID  TRICARE  CHAMPVA  GROUP HEALTH PLAN  FECA BLK LUNG  OTHER", 5, 0, 46),
        _box("1a", "1a. INSURED'S I.D. NUMBER", 5, 46, 34),
        _box("2", "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)", 7, 0, 28),
        _box("3", "3. PATIENT'S BIRTH DATE (MM DD YYYY) / SEX", 7, 28, 18),
        _box("4", "4. INSURED'S NAME (Last Name, First Name, Middle Initial)", 7, 46, 34),
        _box("5", "5. PATIENT'S ADDRESS (No., Street)", 9, 0, 28),
        _box("5.city", "CITY", 11, 0, 23),
        _box("5.state", "STATE", 11, 23, 5),
        _box("5.zip", "ZIP CODE", 13, 0, 14),
        _box("5.phone", "TELEPHONE (Include Area Code)", 13, 14, 14),
        _box("6", "6. PATIENT RELATIONSHIP TO INSURED", 9, 28, 18),
        _box("8", "8. RESERVED FOR NUCC USE", 11, 28, 18, 4),
        _box("7", "7. INSURED'S ADDRESS (No., Street)", 9, 46, 34),
        _box("7.city", "CITY", 11, 46, 28),
        _box("7.state", "STATE", 11, 74, 6),
        _box("7.zip", "ZIP CODE", 13, 46, 16),
        _box("7.phone", "TELEPHONE (Include Area Code)", 13, 62, 18),
        _box("9", "9. OTHER INSURED'S NAME (Last Name, First Name, Middle Initial)", 15, 0, 28),
        _box("9a", "a. OTHER INSURED'S POLICY OR GROUP NUMBER", 17, 0, 28),
        _box("9b", "b. RESERVED FOR NUCC USE", 19, 0, 28),
        _box("9c", "c. RESERVED FOR NUCC USE", 21, 0, 28),
        _box("9d", "d. INSURANCE PLAN NAME OR PROGRAM NAME", 23, 0, 28),
        _box("10", "10. IS PATIENT'S CONDITION RELATED TO:", 15, 28, 18),
        _box("10a", "a. EMPLOYMENT? (Current or Previous)", 17, 28, 18),
        _box("10b", "b. AUTO ACCIDENT?  PLACE (State)", 19, 28, 18),
        _box("10c", "c. OTHER ACCIDENT?", 21, 28, 18),
        _box("10d", "10d. CLAIM CODES (Designated by NUCC)", 23, 28, 18),
        _box("11", "11. INSURED'S POLICY GROUP OR FECA NUMBER", 15, 46, 34),
        _box("11a", "a. INSURED'S DATE OF BIRTH (MM DD YYYY) / SEX", 17, 46, 34),
        _box("11b", "b. OTHER CLAIM ID (Designated by NUCC)", 19, 46, 34),
        _box("11c", "c. INSURANCE PLAN NAME OR PROGRAM NAME", 21, 46, 34),
        _box("11d", "d. IS THERE ANOTHER HEALTH BENEFIT PLAN?", 23, 46, 34),
        _box("12", "12. PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE", 25, 0, 46),
        _box("13", "13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE", 25, 46, 34),
        _box("14", "14. DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP)", 27, 0, 22),
        _box("15", "15. OTHER DATE", 27, 22, 24),
        _box("16", "16. DATES PATIENT UNABLE TO WORK IN CURRENT OCCUPATION", 27, 46, 34),
        _box("17", "17. NAME OF REFERRING PROVIDER OR OTHER SOURCE", 29, 0, 28),
        _box("17b", "17b. NPI", 29, 28, 18),
        _box("18", "18. HOSPITALIZATION DATES RELATED TO CURRENT SERVICES", 29, 46, 34),
        _box("19", "19. ADDITIONAL CLAIM INFORMATION (Designated by NUCC)", 31, 0, 46),
        _box("20", "20. OUTSIDE LAB?  $ CHARGES", 31, 46, 34),
        _box("21", "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY   ICD Ind.", 33, 0, 46),
        _box("22", "22. RESUBMISSION CODE  ORIGINAL REF. NO.", 33, 46, 34),
        _box("23", "23. PRIOR AUTHORIZATION NUMBER", 35, 46, 34),
    ]
    for index, letter in enumerate("ABCDEFGHIJKL"):
        row, column = divmod(index, 4)
        boxes.append(_box(f"21{letter}", f"{letter}.", 35 + 2 * row, column * 11.5, 11.5))
    columns = (
        ("A", 0, 17),
        ("B", 17, 3),
        ("C", 20, 3),
        ("D", 23, 17),
        ("E", 40, 6),
        ("F", 46, 10),
        ("G", 56, 5),
        ("H", 61, 3),
        ("I", 64, 3),
        ("J", 67, 13),
    )
    captions = {
        "A": "24. A. DATE(S) OF SERVICE  From MM DD YY  To MM DD YY",
        "B": "B. PLACE OF SERVICE",
        "C": "C. EMG",
        "D": "D. PROCEDURES, SERVICES, OR SUPPLIES  CPT/HCPCS  MODIFIER",
        "E": "E. DIAGNOSIS POINTER",
        "F": "F. $ CHARGES",
        "G": "G. DAYS OR UNITS",
        "H": "H. EPSDT",
        "I": "I. ID QUAL.",
        "J": "J. RENDERING PROVIDER ID. #",
    }
    boxes.extend(_box(f"24{letter}", captions[letter], 41, column, width) for letter, column, width in columns)
    for number in range(1, 7):
        top = 43 + 2 * (number - 1)
        boxes.append(_box(f"24.{number}", "", top, 0, 80, 1))
        boxes.extend(_box(f"24{letter}.{number}", "", top + 1, column, width, 1) for letter, column, width in columns)
    boxes += [
        _box("25", "25. FEDERAL TAX I.D. NUMBER  SSN EIN", 55, 0, 16),
        _box("26", "26. PATIENT'S ACCOUNT NO.", 55, 16, 14),
        _box("27", "27. ACCEPT ASSIGNMENT?", 55, 30, 10),
        _box("28", "28. TOTAL CHARGE", 55, 40, 12),
        _box("29", "29. AMOUNT PAID", 55, 52, 12),
        _box("30", "30. Rsvd for NUCC Use", 55, 64, 16),
        _box("31", "31. SIGNATURE OF PHYSICIAN OR SUPPLIER", 57, 0, 22, 4),
        _box("32", "32. SERVICE FACILITY LOCATION INFORMATION", 57, 22, 28, 4),
        _box("33", "33. BILLING PROVIDER INFO & PH #", 57, 50, 30, 4),
        _box("32a", "a. NPI", 61, 22, 14),
        _box("32b", "b.", 61, 36, 14),
        _box("33a", "a. NPI", 61, 50, 15),
        _box("33b", "b.", 61, 65, 15),
    ]
    return tuple(boxes)


def _ub04_boxes() -> tuple[FormBox, ...]:
    boxes = [
        _box("1", "1 BILLING PROVIDER NAME, ADDRESS", 0, 0, 25, 4),
        _box("2", "2 PAY-TO NAME AND ADDRESS", 0, 25, 25, 4),
        _box("3a", "3a PAT. CNTL #", 0, 50, 24),
        _box("3b", "b. MED. REC. #", 2, 50, 24),
        _box("4", "4 TYPE OF BILL", 0, 74, 6, 4),
        _box("5", "5 FED. TAX NO.", 4, 46, 12),
        _box("6", "6 STATEMENT COVERS PERIOD FROM THROUGH", 4, 58, 16),
        _box("7", "7", 4, 74, 6),
        _box("8", "8 PATIENT NAME", 6, 0, 30),
        _box("9a", "9 PATIENT ADDRESS a", 6, 30, 50),
        _box("9b", "b (city)", 8, 30, 30),
        _box("9c", "c (state)", 8, 60, 5),
        _box("9d", "d (ZIP)", 8, 65, 10),
        _box("9e", "e", 8, 75, 5),
        _box("10", "10 BIRTHDATE", 10, 0, 10),
        _box("11", "11 SEX", 10, 10, 4),
        _box("12", "12 ADMISSION DATE", 10, 14, 8),
        _box("13", "13 HR", 10, 22, 3),
        _box("14", "14 TYPE", 10, 25, 3),
        _box("15", "15 SRC", 10, 28, 3),
        _box("16", "16 DHR", 10, 31, 3),
        _box("17", "17 STAT", 10, 34, 3),
    ]
    boxes += [_box(str(18 + i), f"{18 + i}", 10, 37 + 3 * i, 3) for i in range(11)]
    boxes += [_box("29", "29 ACDT STATE", 10, 70, 5), _box("30", "30", 10, 75, 5)]
    boxes += [_box(str(31 + i), f"{31 + i} OCCURRENCE CODE DATE", 12, 10 * i, 10) for i in range(4)]
    boxes += [_box(str(35 + i), f"{35 + i} OCCURRENCE SPAN CODE FROM THROUGH", 12, 40 + 14 * i, 14) for i in range(2)]
    boxes += [_box("37", "37", 12, 68, 12), _box("38", "38 RESPONSIBLE PARTY NAME AND ADDRESS", 14, 0, 38, 4)]
    boxes += [_box(str(39 + i), f"{39 + i} VALUE CODES CODE AMOUNT", 14, 38 + 14 * i, 14, 4) for i in range(3)]
    columns = (
        ("42", 0, 5),
        ("43", 5, 24),
        ("44", 29, 15),
        ("45", 44, 7),
        ("46", 51, 7),
        ("47", 58, 10),
        ("48", 68, 10),
        ("49", 78, 2),
    )
    captions = {
        "42": "42 REV. CD.",
        "43": "43 DESCRIPTION",
        "44": "44 HCPCS / RATE / HIPPS CODE",
        "45": "45 SERV. DATE",
        "46": "46 SERV. UNITS",
        "47": "47 TOTAL CHARGES",
        "48": "48 NON-COVERED CHARGES",
        "49": "49",
    }
    boxes.extend(_box(fl, captions[fl], 18, column, width, 1) for fl, column, width in columns)
    for number in range(1, 24):
        boxes.extend(_box(f"{fl}.{number}", "", 18 + number, column, width, 1) for fl, column, width in columns)
    payer_columns = (("50", 0, 23), ("51", 23, 15), ("52", 38, 3), ("53", 41, 3), ("54", 44, 12), ("55", 56, 12))
    payer_captions = "50 PAYER NAME|51 HEALTH PLAN ID|52 REL INFO|53 ASG BEN|54 PRIOR PAYMENTS|55 EST. AMOUNT DUE"
    boxes.extend(
        _box(fl, caption, 42, column, width, 1)
        for (fl, column, width), caption in zip(payer_columns, payer_captions.split("|"), strict=True)
    )
    for row_index, row in enumerate("ABC"):
        boxes.extend(_box(f"{fl}{row}", "", 43 + row_index, column, width, 1) for fl, column, width in payer_columns)
    boxes += [_box("56", "56 NPI", 42, 68, 12), _box("57", "57 OTHER PRV ID", 44, 68, 12, 2)]
    insured_columns = (("58", 0, 25), ("59", 25, 4), ("60", 29, 20), ("61", 49, 14), ("62", 63, 17))
    insured_captions = "58 INSURED'S NAME|59 P. REL|60 INSURED'S UNIQUE ID|61 GROUP NAME|62 INSURANCE GROUP NO."
    boxes.extend(
        _box(fl, caption, 46, column, width, 1)
        for (fl, column, width), caption in zip(insured_columns, insured_captions.split("|"), strict=True)
    )
    for row_index, row in enumerate("ABC"):
        boxes.extend(_box(f"{fl}{row}", "", 47 + row_index, column, width, 1) for fl, column, width in insured_columns)
    boxes += [
        _box("63", "63 TREATMENT AUTHORIZATION CODES", 50, 0, 30),
        _box("64", "64 DOCUMENT CONTROL NUMBER", 50, 30, 25),
        _box("65", "65 EMPLOYER NAME", 50, 55, 25),
        _box("66", "66 DX", 52, 0, 3),
        _box("67", "67 PRINCIPAL DX", 52, 3, 9),
    ]
    boxes += [
        _box(f"67{letter}", letter, 52 + 2 * (i // 8), 12 + 8.5 * (i % 8), 8.5)
        for i, letter in enumerate("ABCDEFGHIJKLMNOP")
    ]
    boxes += [
        _box("68", "68", 54, 3, 9),
        _box("69", "69 ADMIT DX", 56, 0, 9, 1.5),
        _box("70", "70 PATIENT REASON DX", 56, 9, 13, 1.5),
        _box("71", "71 PPS CODE", 56, 22, 6, 1.5),
        _box("72", "72 ECI", 56, 28, 12, 1.5),
        _box("73", "73", 56, 40, 4, 1.5),
        _box("76", "76 ATTENDING NPI / LAST FIRST", 56, 44, 36, 1.5),
        _box("74", "74 PRINCIPAL PROCEDURE CODE DATE", 57.5, 0, 15, 1.5),
        _box("74a", "a. OTHER PROCEDURE CODE DATE", 57.5, 15, 15, 1.5),
        _box("74b", "b. OTHER PROCEDURE CODE DATE", 57.5, 30, 14, 1.5),
        _box("77", "77 OPERATING NPI / LAST FIRST", 57.5, 44, 36, 1.5),
        _box("74c", "c. OTHER PROCEDURE CODE DATE", 59, 0, 15, 1.5),
        _box("74d", "d. OTHER PROCEDURE CODE DATE", 59, 15, 15, 1.5),
        _box("74e", "e. OTHER PROCEDURE CODE DATE", 59, 30, 14, 1.5),
        _box("78", "78 OTHER QUAL NPI / LAST FIRST", 59, 44, 36, 1.5),
        _box("80", "80 REMARKS", 60.5, 0, 30, 1.5),
        _box("81", "81 CC", 60.5, 30, 14, 1.5),
        _box("79", "79 OTHER QUAL NPI / LAST FIRST", 60.5, 44, 36, 1.5),
    ]
    return tuple(boxes)


CMS1500 = PaperForm("cms1500", "HEALTH INSURANCE CLAIM FORM  (CMS-1500 02/12, APPROVED BY NUCC)", _cms1500_boxes(), 6)
UB04 = PaperForm("ub04", "UB-04 (CMS-1450) UNIFORM BILL", _ub04_boxes(), 23)
FORMS = {form.name: form for form in (CMS1500, UB04)}


class PaperFormError(ValueError):
    """The claim cannot go on the requested form (an institutional claim on a CMS-1500...)."""


@dataclass(frozen=True, slots=True)
class FilledPage:
    number: int
    of: int
    boxes: tuple[FilledBox, ...]


def fill(form: PaperForm, claim: Claim, *, printed_on: dt.date) -> tuple[FilledPage, ...]:
    """The pages of `form` for `claim`: every box with something to print, and what."""
    if form is CMS1500:
        if claim.kind is not ClaimKind.PROFESSIONAL:
            raise PaperFormError("an institutional claim is billed on the UB-04: use --form ub04")
        return _pages(form, claim, printed_on, _cms1500_page)
    if claim.kind is not ClaimKind.INSTITUTIONAL:
        raise PaperFormError("a professional claim is billed on the CMS-1500: use --form cms1500")
    return _pages(form, claim, printed_on, _ub04_page)


def _pages(form: PaperForm, claim: Claim, printed_on: dt.date, page_of: _PageFiller) -> tuple[FilledPage, ...]:
    chunks = [
        claim.lines[start : start + form.lines_per_page] for start in range(0, len(claim.lines), form.lines_per_page)
    ]
    pages: list[FilledPage] = []
    for number, lines in enumerate(chunks or [()], start=1):
        values = page_of(claim, lines, printed_on, number, len(chunks) or 1)
        boxes = tuple(FilledBox(form.box(key), text) for key, text in values if any(text))
        pages.append(FilledPage(number, len(chunks) or 1, boxes))
    return tuple(pages)


class _PageFiller(Protocol):
    """(claim, this page's lines, printed on, page number, page count) -> (box key, lines of text)."""

    def __call__(
        self, claim: Claim, lines: Sequence[ServiceLine], printed_on: dt.date, number: int, count: int
    ) -> Iterator[tuple[str, tuple[str, ...]]]: ...


_PROGRAM = {
    ClaimFilingIndicator.MEDICARE_PART_A: "MEDICARE",
    ClaimFilingIndicator.MEDICARE_PART_B: "MEDICARE",
    ClaimFilingIndicator.MEDICAID: "MEDICAID",
    ClaimFilingIndicator.CHAMPUS: "TRICARE",
    ClaimFilingIndicator.VETERANS_AFFAIRS: "CHAMPVA",
    ClaimFilingIndicator.FEDERAL_EMPLOYEES: "FECA BLK LUNG",
}
_GROUP_HEALTH = frozenset(
    {
        ClaimFilingIndicator.COMMERCIAL,
        ClaimFilingIndicator.PPO,
        ClaimFilingIndicator.POS,
        ClaimFilingIndicator.EPO,
        ClaimFilingIndicator.INDEMNITY,
        ClaimFilingIndicator.HMO,
        ClaimFilingIndicator.HMO_MEDICARE_RISK,
        ClaimFilingIndicator.BLUE_CROSS_BLUE_SHIELD,
    }
)
_RELATIONSHIP = {Relationship.SELF: "SELF", Relationship.SPOUSE: "SPOUSE", Relationship.CHILD: "CHILD"}


def _cms1500_page(
    claim: Claim, lines: Sequence[ServiceLine], printed_on: dt.date, number: int, count: int
) -> Iterator[tuple[str, tuple[str, ...]]]:
    subscriber, patient = claim.subscriber, claim.patient
    payer = claim.payer
    yield "carrier", (payer.name, *_address_lines(payer.address))
    indicator = payer.claim_filing_indicator
    program = _PROGRAM.get(indicator) or ("GROUP HEALTH PLAN" if indicator in _GROUP_HEALTH else "OTHER")
    yield "1", (f"X {program}",)
    yield "1a", (subscriber.member_id,)
    if patient is not None:
        yield "2", (_person(patient.last_name, patient.first_name, patient.middle_name),)
        yield "3", (f"{_date_long(patient.birth_date)}  {_sex(patient.sex)}",)
        yield from _address_boxes("5", patient.address)
        yield "6", (_RELATIONSHIP.get(patient.relationship, "OTHER"),)
    else:
        yield "2", (_subscriber_name(subscriber),)
        yield "3", (f"{_date_long(subscriber.birth_date)}  {_sex(subscriber.sex)}",)
        yield from _address_boxes("5", subscriber.address)
        yield "6", ("SELF",)
    yield "4", (_subscriber_name(subscriber),)
    yield from _address_boxes("7", subscriber.address)
    yield "11", (subscriber.group_number or "NONE",)
    yield "11a", (f"{_date_long(subscriber.birth_date)}  {_sex(subscriber.sex)}".strip(),)
    yield "11c", (subscriber.group_name or payer.name,)
    others: list[OtherPayer | OtherCoverage] = [*claim.other_payers, *claim.other_coverages]
    other = others[0] if others else None
    yield "11d", ("YES" if other else "NO",)
    if other is not None:
        yield "9", (_subscriber_name(other.subscriber),)
        yield "9a", (other.subscriber.group_number or other.subscriber.member_id,)
        yield "9d", (other.payer.name,)
    yield from _accident_boxes(claim.accident)
    signed = "SIGNATURE ON FILE"
    yield "12", (signed if claim.release_of_information is ReleaseOfInformation.SIGNED else "",)
    yield "13", (signed if claim.benefits_assigned else "",)
    if claim.onset_date is not None:
        yield "14", (f"{_date_short(claim.onset_date)}  QUAL 431",)
    if claim.accident is not None and claim.accident.occurred_on is not None:
        yield "15", (f"QUAL 439  {_date_short(claim.accident.occurred_on)}",)
    qualified = _box17_provider(claim)
    if qualified is not None:
        qualifier, provider = qualified
        yield "17", (f"{qualifier} {_person(provider.last_name, provider.first_name, provider.middle_name)}",)
        yield "17b", (provider.npi,)
    yield "19", ("   ".join(_pwk(attachment) for attachment in _all_attachments(claim)),)
    yield "21", ("0",)
    for letter, code in zip("ABCDEFGHIJKL", claim.diagnoses, strict=False):
        yield f"21{letter}", (code.replace(".", ""),)
    if claim.frequency is not ClaimFrequency.ORIGINAL:
        yield "22", (f"{claim.frequency.value}   {claim.original_claim_number or ''}".rstrip(),)
    yield "23", (claim.prior_authorization or "",)
    for number_on_page, line in enumerate(lines, start=1):
        yield from _cms1500_line(claim, line, number_on_page)
    billing = claim.billing_provider
    tax_kind = "EIN" if billing.tax_id_qualifier is TaxIdQualifier.EIN else "SSN"
    yield "25", (f"{billing.tax_id}  {tax_kind}",)
    yield "26", (claim.control_number,)
    yield "27", ("YES" if claim.assignment is AssignmentCode.ASSIGNED else "NO",)
    last = number == count
    yield "28", (_dollars(claim.total_charge_cents) if last else "CONTINUED",)
    yield "29", (_dollars(sum(other.paid_cents for other in claim.other_payers)) if last else "",)
    yield (
        "31",
        (signed if claim.provider_signature_on_file else "", _date_long(printed_on), f"PAGE {number} OF {count}"),
    )
    facility = claim.service_facility
    if facility is not None:
        yield "32", (facility.name, *_address_lines(facility.address))
        yield "32a", (facility.npi or "",)
    billing_name = _person(billing.name, billing.first_name, None) if billing.first_name else billing.name
    yield "33", (billing_name, *_address_lines(billing.address))
    yield "33a", (billing.npi,)
    yield "33b", (f"ZZ{billing.taxonomy}" if billing.taxonomy else "",)


def _cms1500_line(claim: Claim, line: ServiceLine, number: int) -> Iterator[tuple[str, tuple[str, ...]]]:
    start = line.service_date
    end = line.service_date_end or start
    yield f"24.{number}", ("   ".join(_supplemental(line)),)
    yield f"24A.{number}", (f"{_date_short(start)}  {_date_short(end)}",)
    yield f"24B.{number}", (line.place_of_service or claim.place_of_service,)
    yield f"24C.{number}", ("Y" if line.emergency else "",)
    yield f"24D.{number}", (" ".join((line.procedure_code or "", *line.modifiers)),)
    yield f"24E.{number}", ("".join("ABCDEFGHIJKL"[pointer - 1] for pointer in line.diagnosis_pointers[:4]),)
    yield f"24F.{number}", (_dollars(line.charge_cents),)
    yield f"24G.{number}", (str(line.units),)
    rendering = line.rendering_provider or claim.rendering_provider
    yield f"24J.{number}", (rendering.npi if rendering is not None else "",)


def _supplemental(line: ServiceLine) -> Iterator[str]:
    """The shaded part of a box 24 line (NUCC 02/12 item 24): qualifier, then the information, no space
    between: N4 and the NDC with its unit and quantity, 7 and the anesthesia minutes."""
    if line.drug is not None:
        yield f"N4{line.drug.ndc} {line.drug.unit.value}{line.drug.quantity}"
    if line.unit_basis is UnitBasis.MINUTES:
        yield f"7DURATION {line.units} MINUTES"


def _accident_boxes(accident: Accident | None) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Boxes 10a-10c: YES or NO for each related cause; an auto accident with the state it happened in."""
    causes = accident.causes if accident is not None else ()
    yield "10a", ("YES" if RelatedCause.EMPLOYMENT in causes else "NO",)
    auto = RelatedCause.AUTO_ACCIDENT in causes
    state = accident.state if accident is not None and auto and accident.state else ""
    yield "10b", (f"YES  PLACE {state}".rstrip() if auto else "NO",)
    yield "10c", ("YES" if RelatedCause.OTHER_ACCIDENT in causes else "NO",)


def _box17_provider(claim: Claim) -> tuple[str, Provider] | None:
    """Box 17 holds one provider, in the NUCC's order: referring (DN), ordering (DK), supervising (DQ). The
    ordering and supervising providers may be the claim's or, when every line names the same one, the lines'."""
    if claim.referring_provider is not None:
        return "DN", claim.referring_provider
    ordering = _same_on_every_line(line.ordering_provider for line in claim.lines)
    if ordering is not None:
        return "DK", ordering
    supervising = claim.supervising_provider or _same_on_every_line(line.supervising_provider for line in claim.lines)
    if supervising is not None:
        return "DQ", supervising
    return None


def _same_on_every_line(named: Iterable[Provider | None]) -> Provider | None:
    distinct = set(named)
    return distinct.pop() if len(distinct) == 1 else None


def _all_attachments(claim: Claim) -> list[Attachment]:
    """The claim's attachments and its lines', each once, in the order the claim names them."""
    seen: list[Attachment] = []
    for attachment in (*claim.attachments, *(a for line in claim.lines for a in line.attachments)):
        if attachment not in seen:
            seen.append(attachment)
    return seen


def _pwk(attachment: Attachment) -> str:
    """Box 19 (NUCC 02/12): PWK, the report type, the transmission code and the attachment control number,
    with no spaces between them."""
    return f"PWK{attachment.report_type}{attachment.transmission.value}{attachment.control_number or ''}"


def _ub04_page(
    claim: Claim, lines: Sequence[ServiceLine], printed_on: dt.date, number: int, count: int
) -> Iterator[tuple[str, tuple[str, ...]]]:
    institutional = claim.institutional
    assert institutional is not None
    billing, subscriber = claim.billing_provider, claim.subscriber
    yield "1", (billing.name, *_address_lines(billing.address))
    if billing.pay_to_address is not None:
        yield "2", (billing.name, *_address_lines(billing.pay_to_address))
    yield "3a", (claim.control_number,)
    yield "4", (f"0{institutional.facility_type_code}{claim.frequency.value}",)
    yield "5", (billing.tax_id,)
    yield "6", (f"{_date_compact(institutional.statement_from)} {_date_compact(institutional.statement_to)}",)
    patient = claim.patient
    if patient is not None:
        yield "8", (_person(patient.last_name, patient.first_name, patient.middle_name),)
        address: Address | None = patient.address
        birth: dt.date | None = patient.birth_date
        sex: Sex | None = patient.sex
    else:
        yield "8", (_subscriber_name(subscriber),)
        address, birth, sex = subscriber.address, subscriber.birth_date, subscriber.sex
    if address is not None:
        yield "9a", (" ".join(filter(None, (address.line1, address.line2))),)
        yield "9b", (address.city,)
        yield "9c", (address.state,)
        yield "9d", (address.postal_code,)
    yield "10", (_date_compact(birth, century=True),)
    yield "11", (_sex(sex),)
    admission = institutional.admission
    if admission is not None:
        yield "12", (_date_compact(admission.admitted_on),)
        yield "13", (f"{admission.hour:02d}" if admission.hour is not None else "",)
        yield "14", (admission.type_code,)
        yield "15", (admission.source_code,)
    if institutional.discharge_hour is not None:
        yield "16", (f"{institutional.discharge_hour:02d}",)
    yield "17", (institutional.patient_status_code,)
    remarks: list[str] = []
    yield from _ub04_codes(institutional, remarks)
    if claim.accident is not None and claim.accident.state:
        yield "29", (claim.accident.state,)
    total = 0
    for number_on_page, line in enumerate(lines, start=1):
        total += line.charge_cents
        yield f"42.{number_on_page}", (line.revenue_code or "",)
        if line.drug is not None:
            yield f"43.{number_on_page}", (f"N4{line.drug.ndc} {line.drug.unit.value}{line.drug.quantity}",)
        elif line.revenue_code is not None:
            yield f"43.{number_on_page}", (revenue_description(line.revenue_code),)
        yield f"44.{number_on_page}", (" ".join((line.procedure_code or "", *line.modifiers)).strip(),)
        yield f"45.{number_on_page}", (_date_compact(line.service_date),)
        yield f"46.{number_on_page}", (str(line.units),)
        yield f"47.{number_on_page}", (_dollars(line.charge_cents),)
    totals_row = 23
    yield f"42.{totals_row}", ("0001",)
    yield f"43.{totals_row}", (f"PAGE {number} OF {count}",)
    yield f"45.{totals_row}", (_date_compact(printed_on),)
    yield f"47.{totals_row}", (_dollars(claim.total_charge_cents if number == count else total),)
    prior = 0
    for row, (responsibility, payer_name, payer_id, insured, relationship, paid) in zip(
        "ABC", _payers(claim), strict=False
    ):
        current = responsibility is claim.payer_responsibility
        yield f"50{row}", (payer_name,)
        yield f"51{row}", (payer_id,)
        yield f"52{row}", ("Y" if claim.release_of_information is ReleaseOfInformation.SIGNED else "I",)
        yield f"53{row}", ("Y" if claim.benefits_assigned else "N",)
        yield f"54{row}", (_dollars(paid) if paid else "",)
        yield f"55{row}", (_dollars(claim.total_charge_cents - prior) if current else "",)
        prior += paid
        yield f"58{row}", (_subscriber_name(insured),)
        yield f"59{row}", (relationship.value,)
        yield f"60{row}", (insured.member_id,)
        yield f"61{row}", (insured.group_name or "",)
        yield f"62{row}", (insured.group_number or "",)
    yield "56", (billing.npi,)
    yield "63", (claim.prior_authorization or "",)
    if claim.frequency is not ClaimFrequency.ORIGINAL:
        yield "64", (claim.original_claim_number or "",)
    yield "66", ("0",)
    poa = institutional.present_on_admission
    for index, code in enumerate(claim.diagnoses[: 1 + len(_OTHER_DIAGNOSES)]):
        flag = poa[index] if index < len(poa) else ""
        yield (
            ("67" if index == 0 else f"67{'ABCDEFGHIJKLMNOP'[index - 1]}"),
            (f"{code.replace('.', '')} {flag}".strip(),),
        )
    yield "69", ((institutional.admitting_diagnosis or "").replace(".", ""),)
    yield "70", (" ".join(code.replace(".", "") for code in institutional.patient_reasons_for_visit[:3]),)
    yield "71", (institutional.drg or "",)
    procedures = ([institutional.principal_procedure] if institutional.principal_procedure else []) + list(
        institutional.other_procedures
    )
    for key, procedure in zip(("74", "74a", "74b", "74c", "74d", "74e"), procedures, strict=False):
        yield key, (f"{procedure.code} {_date_compact(procedure.performed_on)}",)
    remarks += [f"PROC {p.code} {_date_compact(p.performed_on)}" for p in procedures[6:]]
    attending = institutional.attending
    yield "76", (_ub04_provider(attending),)
    if institutional.operating is not None:
        yield "77", (_ub04_provider(institutional.operating),)
    for key, (qualifier, provider) in zip(("78", "79"), _ub04_other_providers(claim, institutional), strict=False):
        yield key, (f"{qualifier} {_ub04_provider(provider)}",)
    remarks += [
        f"PWK {a.report_type} {a.transmission.value} {a.control_number or ''}".rstrip() for a in claim.attachments
    ]
    yield "80", _remark_lines(remarks)


_REMARKS_WIDTH = 48
"""FL80 is wrapped at this many characters a line (two lines fit the box at a readable size)."""


def _ub04_codes(institutional: InstitutionalDetails, remarks: list[str]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """FL18-28 condition codes, FL31-34 occurrence codes and dates, FL35-36 occurrence spans and FL39-41
    value codes and amounts, in the order the claim carries them; what does not fit goes to FL80 remarks."""
    conditions = institutional.condition_codes
    for index, code in enumerate(conditions[:11]):
        yield str(18 + index), (code,)
    remarks += [f"CC {code}" for code in conditions[11:]]
    occurrences = [f"{o.code} {_date_compact(o.occurred_on)}" for o in institutional.occurrences]
    yield from _across(("31", "32", "33", "34"), occurrences, rows=2, overflow=remarks, label="OCC")
    spans = [f"{s.code} {_date_compact(s.start)} {_date_compact(s.end)}" for s in institutional.occurrence_spans]
    yield from _across(("35", "36"), spans, rows=2, overflow=remarks, label="SPAN")
    values = [f"{v.code} {_dollars(v.amount_cents)}" for v in institutional.values]
    yield from _across(("39", "40", "41"), values, rows=4, overflow=remarks, label="VAL")


def _remark_lines(remarks: Sequence[str]) -> tuple[str, ...]:
    """FL80: the remarks separated by "; ", a new line before one that would pass `_REMARKS_WIDTH`."""
    lines: list[str] = []
    for remark in remarks:
        if lines and len(lines[-1]) + 2 + len(remark) <= _REMARKS_WIDTH:
            lines[-1] += f"; {remark}"
        else:
            lines.append(remark)
    return tuple(lines)


def _across(
    keys: Sequence[str], entries: Sequence[str], *, rows: int, overflow: list[str], label: str
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """`entries` filled across the boxes `keys` row by row (a row of each box is one of the form's a, b...
    lines); entries past the last row go to `overflow`, prefixed with `label`."""
    fitted = entries[: rows * len(keys)]
    for column, key in enumerate(keys):
        lines = tuple(
            fitted[row * len(keys) + column] if row * len(keys) + column < len(fitted) else "" for row in range(rows)
        )
        yield key, tuple(_without_trailing_blanks(lines))
    overflow += [f"{label} {entry}" for entry in entries[rows * len(keys) :]]


def _without_trailing_blanks(lines: tuple[str, ...]) -> tuple[str, ...]:
    end = len(lines)
    while end and not lines[end - 1]:
        end -= 1
    return lines[:end]


def _ub04_provider(provider: Provider) -> str:
    return f"{provider.npi}  {_person(provider.last_name, provider.first_name, None)}"


def _ub04_other_providers(claim: Claim, institutional: InstitutionalDetails) -> list[tuple[str, Provider]]:
    """FL78-79 with their NUBC qualifiers: ZZ other operating physician, 82 rendering (when it is not the
    attending), DN referring."""
    others: list[tuple[str, Provider]] = []
    if institutional.other_operating is not None:
        others.append(("ZZ", institutional.other_operating))
    rendering = claim.rendering_provider
    if rendering is not None and rendering.npi != institutional.attending.npi:
        others.append(("82", rendering))
    if claim.referring_provider is not None:
        others.append(("DN", claim.referring_provider))
    return others


def revenue_description(revenue_code: str) -> str:
    """FL43: the NUBC revenue category's name, upper case, cut to the form's 24 characters ("" when unknown)."""
    known = tables.REVENUE_CATEGORIES.get(revenue_code[:3]) if REVENUE_CODE.match(revenue_code) else None
    return (known or "").upper()[:24].rstrip()


def _payers(claim: Claim) -> list[tuple[PayerResponsibility, str, str, Subscriber, Relationship, int]]:
    """FL50-62 rows: the payers in the order they are billed (primary on line A), this claim's payer included."""
    relationship = claim.patient.relationship if claim.patient is not None else Relationship.SELF
    rows = [(claim.payer_responsibility, claim.payer.name, claim.payer.payer_id, claim.subscriber, relationship, 0)]
    rows += [
        (
            other.responsibility,
            other.payer.name,
            other.payer.payer_id,
            other.subscriber,
            other.relationship,
            other.paid_cents,
        )
        for other in claim.other_payers
    ]
    rows += [
        (known.responsibility, known.payer.name, known.payer.payer_id, known.subscriber, known.relationship, 0)
        for known in claim.other_coverages
    ]
    order = list(PayerResponsibility)
    return sorted(rows, key=lambda row: order.index(row[0]))


def _address_boxes(prefix: str, address: Address | None) -> Iterator[tuple[str, tuple[str, ...]]]:
    if address is None:
        return
    yield prefix, (" ".join(filter(None, (address.line1, address.line2))),)
    yield f"{prefix}.city", (address.city,)
    yield f"{prefix}.state", (address.state,)
    yield f"{prefix}.zip", (address.postal_code,)


def _address_lines(address: Address | None) -> tuple[str, ...]:
    if address is None:
        return ()
    street = tuple(filter(None, (address.line1, address.line2)))
    return (*street, f"{address.city}, {address.state} {address.postal_code}")


def _person(last: str, first: str | None, middle: str | None) -> str:
    return ", ".join(filter(None, (last, first, middle[:1] if middle else None)))


def _subscriber_name(subscriber: Subscriber) -> str:
    return _person(subscriber.last_name, subscriber.first_name, subscriber.middle_name)


def _sex(sex: Sex | None) -> str:
    return sex.value if sex is not None and sex is not Sex.UNKNOWN else ""


def _date_long(day: dt.date | None) -> str:
    return f"{day:%m %d %Y}" if day else ""


def _date_short(day: dt.date | None) -> str:
    return f"{day:%m %d %y}" if day else ""


def _date_compact(day: dt.date | None, *, century: bool = False) -> str:
    if day is None:
        return ""
    return f"{day:%m%d%Y}" if century else f"{day:%m%d%y}"


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
