"""Paper claims: `claimflow x12 render-paper` writes a CMS-1500 (02/12) or UB-04 PDF with each field in its
box; the PDF is read back with pypdf and every printed field is found, by position, inside its box."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from cli.main import app
from cli.render_837 import encounter_from_json
from services.claims.domain.claim import (
    Accident,
    Address,
    Attachment,
    AttachmentTransmission,
    Claim,
    ClaimFrequency,
    Occurrence,
    OccurrenceSpan,
    OtherCoverage,
    PayerResponsibility,
    ProcedureCode,
    Provider,
    RelatedCause,
    Relationship,
    ServiceFacility,
    ValueAmount,
)
from services.claims.domain.claim_builder import claim_from_encounter
from services.claims.domain.paper_forms import (
    CMS1500,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    UB04,
    FilledPage,
    FormBox,
    PaperForm,
    PaperFormError,
    fill,
)
from services.claims.domain.paper_pdf import FIELD_FONT, paper_pdf
from services.claims.settings import ClaimsSettings
from tests.support.x12_837_builders import (
    BEACON,
    DR_CHEN,
    JANE_AT_BEACON,
    institutional_claim,
    professional_claim,
    secondary_claim,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "encounters"
runner = CliRunner()
TODAY = dt.date(2026, 3, 10)

PrintedText = tuple[str, float, float]


def printed_fields(pdf: bytes) -> list[list[PrintedText]]:
    """Per page, every run of field text (the Courier font; captions are Helvetica) and where it starts."""
    pages: list[list[PrintedText]] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        runs: list[PrintedText] = []

        def visit(text: str, cm: list[float], tm: list[float], font: dict[str, object] | None, size: float) -> None:
            if text.strip() and font is not None and font.get("/BaseFont") == f"/{FIELD_FONT}":
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                runs.append((text.strip(), x, y))  # noqa: B023 - called while this page is read

        page.extract_text(visitor_text=visit)
        pages.append(runs)
    return pages


def assert_every_field_in_its_box(pages: tuple[FilledPage, ...], printed: list[list[PrintedText]]) -> None:
    assert len(printed) == len(pages)
    for page, runs in zip(pages, printed, strict=True):
        expected = [(filled.box, line) for filled in page.boxes for line in filled.lines if line]
        assert len(runs) == len(expected), "one text run per printed line, nothing else in Courier"
        for box, line in expected:
            found = [(x, y) for text, x, y in runs if text == line and box.holds(x, y)]
            assert found, f"{line!r} not printed inside box {box.key} ({box.caption})"


def printed_in(runs: list[PrintedText], box: FormBox) -> list[str]:
    """The field texts whose start the PDF puts inside `box`, top line first."""
    return [text for text, x, y in sorted(runs, key=lambda run: -run[2]) if box.holds(x, y)]


def document_claim(name: str) -> Claim:
    settings = ClaimsSettings()
    encounter = encounter_from_json((EXAMPLES / f"{name}.json").read_text(), TODAY)
    return claim_from_encounter(
        encounter, control_number="CF0000000001", submitter=settings.submitter, receiver=settings.receiver
    )


def field(page: FilledPage, key: str) -> tuple[str, ...]:
    return next(filled.lines for filled in page.boxes if filled.box.key == key)


@pytest.mark.parametrize("form", [CMS1500, UB04])
def test_layout_boxes_are_on_the_page_named_once_and_never_overlap(form: PaperForm) -> None:
    keys = [box.key for box in form.boxes]
    assert len(keys) == len(set(keys))
    for box in form.boxes:
        assert 0 <= box.x and box.x + box.width <= PAGE_WIDTH and 0 <= box.y and box.y + box.height <= PAGE_HEIGHT
    for first, second in itertools.combinations(form.boxes, 2):
        overlap_x = min(first.x + first.width, second.x + second.width) - max(first.x, second.x)
        overlap_y = min(first.y + first.height, second.y + second.height) - max(first.y, second.y)
        assert overlap_x <= 0.01 or overlap_y <= 0.01, (first.key, second.key)


def test_cli_cms1500_from_the_professional_example(tmp_path: Path) -> None:
    target = tmp_path / "claim.pdf"
    result = runner.invoke(
        app,
        ["x12", "render-paper", str(EXAMPLES / "professional.json"), "--form", "cms1500", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    assert "cms1500 PDF" in result.output
    printed = printed_fields(target.read_bytes())
    claim = document_claim("professional")
    pages = fill(CMS1500, claim, printed_on=dt.datetime.now(dt.UTC).date())
    assert_every_field_in_its_box(pages, printed)
    (page,) = pages
    document = json.loads((EXAMPLES / "professional.json").read_text())
    assert field(page, "1a") == (claim.subscriber.member_id,)
    assert field(page, "2")[0].startswith(document["patient"]["last_name"].upper())
    assert field(page, "21A") == (claim.diagnoses[0].replace(".", ""),)
    assert field(page, "24D.1")[0].split()[0] == claim.lines[0].procedure_code
    assert field(page, "24F.1") == (f"{claim.lines[0].charge_cents / 100:.2f}",)
    assert field(page, "28") == (f"{claim.total_charge_cents / 100:.2f}",)
    assert field(page, "33a") == (claim.billing_provider.npi,)
    assert field(page, "26") == ("CF0000000001",)


def test_cli_ub04_from_the_institutional_example(tmp_path: Path) -> None:
    source = EXAMPLES / "institutional.json"
    result = runner.invoke(app, ["x12", "render-paper", str(source), "--form", "ub04", "-o", str(tmp_path / "u.pdf")])
    assert result.exit_code == 0, result.output
    claim = document_claim("institutional")
    pages = fill(UB04, claim, printed_on=dt.datetime.now(dt.UTC).date())
    assert_every_field_in_its_box(pages, printed_fields((tmp_path / "u.pdf").read_bytes()))
    (page,) = pages
    assert claim.institutional is not None
    assert field(page, "4") == (f"0{claim.institutional.facility_type_code}1",)
    assert field(page, "42.1") == (claim.lines[0].revenue_code,)
    assert field(page, "47.23") == (f"{claim.total_charge_cents / 100:.2f}",)
    assert field(page, "67")[0].startswith(claim.diagnoses[0].replace(".", ""))
    assert field(page, "76")[0].startswith(claim.institutional.attending.npi)
    assert field(page, "50A") == (claim.payer.name,)
    assert field(page, "60A") == (claim.subscriber.member_id,)


def test_default_output_is_the_document_name_with_pdf(tmp_path: Path) -> None:
    copy = tmp_path / "visit.json"
    copy.write_text((EXAMPLES / "drug-ndc.json").read_text())
    result = runner.invoke(app, ["x12", "render-paper", str(copy), "--form", "cms1500"])
    assert result.exit_code == 0, result.output
    (page,) = printed_fields((tmp_path / "visit.pdf").read_bytes())
    assert any(text.startswith("N4") for text, _, _ in page), "the NDC goes in the shaded line of box 24"


@pytest.mark.parametrize(
    ("example", "form", "message"),
    [
        ("institutional", "cms1500", "an institutional claim is billed on the UB-04: use --form ub04"),
        ("professional", "ub04", "a professional claim is billed on the CMS-1500: use --form cms1500"),
    ],
)
def test_the_wrong_form_is_refused(tmp_path: Path, example: str, form: str, message: str) -> None:
    source = EXAMPLES / f"{example}.json"
    result = runner.invoke(app, ["x12", "render-paper", str(source), "--form", form, "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_seven_lines_take_two_cms1500_pages_and_the_total_goes_on_the_last() -> None:
    claim = professional_claim()
    lines = tuple(dataclasses.replace(claim.lines[0], charge_cents=1000 * (n + 1)) for n in range(7))
    claim = dataclasses.replace(claim, lines=lines, total_charge_cents=sum(line.charge_cents for line in lines))
    pages = fill(CMS1500, claim, printed_on=TODAY)
    assert [(page.number, page.of) for page in pages] == [(1, 2), (2, 2)]
    assert field(pages[0], "28") == ("CONTINUED",)
    assert field(pages[1], "28") == ("280.00",)
    assert field(pages[1], "24F.1") == ("70.00",)
    assert not any(filled.box.key.endswith(".2") and filled.box.key.startswith("24") for filled in pages[1].boxes)
    assert_every_field_in_its_box(pages, printed_fields(paper_pdf(CMS1500, pages)))


def test_secondary_claim_shows_the_other_payer_and_what_it_paid() -> None:
    claim = secondary_claim()
    (page,) = fill(CMS1500, claim, printed_on=TODAY)
    other = claim.other_payers[0]
    assert field(page, "11d") == ("YES",)
    assert field(page, "9d") == (other.payer.name,)
    assert field(page, "29") == (f"{other.paid_cents / 100:.2f}",)


def test_ub04_payer_rows_put_the_primary_on_line_a() -> None:
    claim = institutional_claim()
    (page,) = fill(UB04, claim, printed_on=TODAY)
    assert field(page, "50A") == (claim.payer.name,)
    assert field(page, "55A") == (f"{claim.total_charge_cents / 100:.2f}",)
    with pytest.raises(PaperFormError):
        fill(CMS1500, claim, printed_on=TODAY)


INPATIENT_BOXES = {
    "4": ["0111"],
    "6": ["030226 030526"],
    "12": ["030226"],
    "13": ["14"],
    "14": ["1"],
    "15": ["7"],
    "16": ["11"],
    "17": ["01"],
    "18": ["39"],
    "31": ["11 022026"],
    "35": ["74 022526 022726"],
    "39": ["80 3.00"],
    "40": ["A1 250.00"],
    "43.1": ["ROOM & BOARD - SEMI-PRIV"],
    "43.2": ["OPERATING ROOM SERVICES"],
    "67": ["M1611 Y"],
    "67C": ["Z794"],
    "67G": ["N390 N"],
    "67K": ["R079 U"],
    "67L": ["E669 W"],
    "67M": ["Z6835"],
    "69": ["M1611"],
    "71": ["470"],
    "74": ["0SR9019 030226"],
    "74a": ["0SRB0J9 030326"],
    "76": ["1444444446  BROWN, RILEY"],
    "77": ["1112226661  GARCIA, ROBIN"],
    "78": ["ZZ 1112227776  LEE, MORGAN"],
}
INTERIM_BILL_BOXES = {
    "4": ["0112"],
    "6": ["030226 030526"],
    "12": ["030226"],
    "13": ["14"],
    "17": ["30"],
    "43.3": ["EMERGENCY ROOM"],
    "44.3": ["99284"],
    "69": ["R509"],
}
AMBULANCE_BOXES = {
    "10a": ["NO"],
    "10b": ["YES  PLACE IL"],
    "10c": ["NO"],
    "14": ["03 02 26  QUAL 431"],
    "15": ["QUAL 439  03 02 26"],
    "19": ["PWKAMFXTRIP-EX-0001"],
    "24J.1": ["1987654328"],
    "24J.2": ["1987654328"],
    "27": ["NO"],
    "33": ["EXAMPLE FAMILY CLINIC", "200 EXAMPLE BLVD", "SUITE 3", "SPRINGFIELD, IL 627041234"],
    "33a": ["1234567893"],
    "33b": ["ZZ207Q00000X"],
}
ANESTHESIA_BOXES = {
    "17": ["DQ KIM, TAYLOR"],
    "17b": ["1112223338"],
    "24.1": ["7DURATION 95 MINUTES"],
    "24G.1": ["95"],
    "24J.1": ["1112224443"],
}
DME_BOXES = {"17": ["DK NGUYEN, CASEY"], "17b": ["1112225556"], "19": ["PWKCTELCMN-EX-0001"]}


@pytest.mark.parametrize(
    ("example", "form", "expected"),
    [
        ("inpatient", UB04, INPATIENT_BOXES),
        ("interim-bill", UB04, INTERIM_BILL_BOXES),
        ("ambulance", CMS1500, AMBULANCE_BOXES),
        ("anesthesia", CMS1500, ANESTHESIA_BOXES),
        ("dme", CMS1500, DME_BOXES),
        ("corrected", CMS1500, {"22": ["7   SBX-PAYER-0002"]}),
        ("void", CMS1500, {"22": ["8   SBX-PAYER-0003"]}),
        (
            "primary-with-secondary",
            CMS1500,
            {"11d": ["YES"], "9a": ["SYN000000201"], "9d": ["SANDBOX SECONDARY PLAN"]},
        ),
    ],
)
def test_the_examples_new_fields_are_printed_in_their_boxes(
    tmp_path: Path, example: str, form: PaperForm, expected: dict[str, list[str]]
) -> None:
    target = tmp_path / f"{example}.pdf"
    result = runner.invoke(
        app, ["x12", "render-paper", str(EXAMPLES / f"{example}.json"), "--form", form.name, "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    (runs,) = printed_fields(target.read_bytes())
    for key, texts in expected.items():
        assert printed_in(runs, form.box(key)) == texts, f"box {key} ({form.box(key).caption})"
    pages = fill(form, document_claim(example), printed_on=dt.datetime.now(dt.UTC).date())
    assert_every_field_in_its_box(pages, printed_fields(target.read_bytes()))


def test_cms1500_accident_boxes_and_the_facility() -> None:
    facility = ServiceFacility(
        "EXAMPLE SURGERY CENTER", Address("9 CENTER CT", "SPRINGFIELD", "IL", "62704"), npi="1777777776"
    )
    claim = dataclasses.replace(
        professional_claim(),
        accident=Accident((RelatedCause.EMPLOYMENT, RelatedCause.OTHER_ACCIDENT), occurred_on=dt.date(2026, 2, 27)),
        service_facility=facility,
        referring_provider=DR_CHEN,
        supervising_provider=Provider(npi="1112223338", last_name="KIM"),
        provider_signature_on_file=False,
    )
    pages = fill(CMS1500, claim, printed_on=TODAY)
    (runs,) = printed_fields(paper_pdf(CMS1500, pages))
    assert_every_field_in_its_box(pages, [runs])
    assert printed_in(runs, CMS1500.box("10a")) == ["YES"]
    assert printed_in(runs, CMS1500.box("10b")) == ["NO"]
    assert printed_in(runs, CMS1500.box("10c")) == ["YES"]
    assert printed_in(runs, CMS1500.box("15")) == ["QUAL 439  02 27 26"]
    assert printed_in(runs, CMS1500.box("17")) == ["DN CHEN, WEI, L"], "the referring provider comes first"
    assert printed_in(runs, CMS1500.box("17b")) == ["1581234568"]
    assert printed_in(runs, CMS1500.box("32")) == ["EXAMPLE SURGERY CENTER", "9 CENTER CT", "SPRINGFIELD, IL 62704"]
    assert printed_in(runs, CMS1500.box("32a")) == ["1777777776"]
    assert printed_in(runs, CMS1500.box("31")) == ["03 10 2026", "PAGE 1 OF 1"], "no provider signature on file"


def test_ub04_codes_fill_across_then_down_and_what_does_not_fit_goes_to_remarks() -> None:
    base = institutional_claim()
    assert base.institutional is not None
    day = dt.date(2025, 3, 1)
    details = dataclasses.replace(
        base.institutional,
        discharge_hour=9,
        condition_codes=tuple(f"{n:02d}" for n in range(30, 42)),
        occurrences=tuple(Occurrence(f"{n:02d}", day) for n in range(1, 10)),
        occurrence_spans=tuple(OccurrenceSpan(f"7{n}", day, dt.date(2025, 3, 3)) for n in range(3)),
        values=tuple(ValueAmount(f"{n:02d}", 100 * n) for n in range(1, 7)),
        patient_reasons_for_visit=("R07.9", "R06.02"),
        drg="291",
        principal_procedure=ProcedureCode("02HV33Z", day),
        other_procedures=tuple(ProcedureCode(f"0BH17E{n}", dt.date(2025, 3, 2)) for n in range(6)),
        operating=Provider(npi="1112226661", last_name="GARCIA", first_name="ROBIN"),
        other_operating=Provider(npi="1112227776", last_name="LEE", first_name="MORGAN"),
    )
    claim = dataclasses.replace(
        base,
        institutional=details,
        frequency=ClaimFrequency.LATE_CHARGES,
        referring_provider=DR_CHEN,
        accident=Accident((RelatedCause.AUTO_ACCIDENT,), state="IL"),
        attachments=(Attachment("OZ", AttachmentTransmission.BY_MAIL, "ATT-1"),),
        other_coverages=(OtherCoverage(BEACON, PayerResponsibility.SECONDARY, JANE_AT_BEACON, Relationship.SELF),),
    )
    pages = fill(UB04, claim, printed_on=TODAY)
    (runs,) = printed_fields(paper_pdf(UB04, pages))
    assert_every_field_in_its_box(pages, [runs])

    def box(key: str) -> list[str]:
        return printed_in(runs, UB04.box(key))

    assert box("4") == ["0115"], "late charges: frequency 5"
    assert (box("50B"), box("60B")) == ([BEACON.name], [JANE_AT_BEACON.member_id]), "the known secondary on row B"
    assert box("16") == ["09"]
    assert [box(str(fl)) for fl in range(18, 29)] == [[f"{n:02d}"] for n in range(30, 41)]
    assert box("29") == ["IL"]
    assert box("31") == ["01 030125", "05 030125"]
    assert box("34") == ["04 030125", "08 030125"]
    assert box("35") == ["70 030125 030325", "72 030125 030325"]
    assert box("36") == ["71 030125 030325"]
    assert box("39") == ["01 1.00", "04 4.00"]
    assert box("41") == ["03 3.00", "06 6.00"]
    assert box("70") == ["R079 R0602"]
    assert box("71") == ["291"]
    assert box("74") == ["02HV33Z 030125"]
    assert [box(f"74{letter}") for letter in "abcde"] == [[f"0BH17E{n} 030225"] for n in range(5)]
    assert box("77") == ["1112226661  GARCIA, ROBIN"]
    assert box("78") == ["ZZ 1112227776  LEE, MORGAN"]
    assert box("79") == ["DN 1581234568  CHEN, WEI"]
    assert box("80") == ["CC 41; OCC 09 030125; PROC 0BH17E5 030225", "PWK OZ BM ATT-1"]


def test_ub04_procedure_and_physician_boxes_read_as_on_the_form() -> None:
    def row(*keys: str) -> list[tuple[float, float]]:
        return [(UB04.box(key).y, UB04.box(key).x) for key in keys]

    top, below = row("74", "74a", "74b"), row("74c", "74d", "74e")
    assert len({y for y, _ in top}) == 1 and len({y for y, _ in below}) == 1
    assert [x for _, x in top] == sorted(x for _, x in top) == [x for _, x in below]
    assert top[0][0] > below[0][0], "principal, a and b above c, d and e"
    physicians = row("76", "77", "78", "79")
    assert len({x for _, x in physicians}) == 1, "76-79 in one column"
    assert [y for y, _ in physicians] == sorted((y for y, _ in physicians), reverse=True), "76 on top, 79 last"
    assert UB04.box("74b").x + UB04.box("74b").width <= UB04.box("77").x
