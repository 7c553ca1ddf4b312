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
from services.claims.domain.claim import Claim
from services.claims.domain.claim_builder import claim_from_encounter
from services.claims.domain.paper_forms import (
    CMS1500,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    UB04,
    FilledPage,
    PaperForm,
    PaperFormError,
    fill,
)
from services.claims.domain.paper_pdf import FIELD_FONT, paper_pdf
from services.claims.settings import ClaimsSettings
from tests.support.x12_837_builders import institutional_claim, professional_claim, secondary_claim

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
