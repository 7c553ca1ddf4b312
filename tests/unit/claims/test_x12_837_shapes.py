"""Every claim shape the 837 writer supports validates in pyx12 with zero errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from services.claims.domain.claim import Claim
from services.claims.domain.x12_837 import Interchange837, write_interchange
from tests.support.pyx12_check import pyx12_errors
from tests.support.x12_837_builders import CONTROL, CREATED_AT, SHAPES


def _write(*claims: Claim) -> Interchange837:
    return write_interchange(list(claims), CONTROL, CREATED_AT)


def _segments(interchange: Interchange837) -> list[str]:
    assert interchange.text.endswith("~")
    return interchange.text[:-1].split("~")


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_each_shape_validates_in_pyx12(shape: Callable[[], Claim]) -> None:
    assert pyx12_errors(_write(shape()).text) == []


def test_all_shapes_in_one_interchange_validate_in_pyx12() -> None:
    interchange = _write(*(shape() for shape in SHAPES.values()))

    assert pyx12_errors(interchange.text) == []
    assert [t.kind.value for t in interchange.transactions] == ["837P", "837I"]
    assert interchange.claim_count == len(SHAPES)


def test_the_validator_helper_reports_errors_it_is_shown() -> None:
    """Guards the helper itself: a file with its HI segment removed must not pass."""
    text = _write(SHAPES["professional"]()).text
    broken = "~".join(s for s in text.split("~") if not s.startswith("HI*"))

    errors = pyx12_errors(broken)

    assert any("HI" in e for e in errors)


def test_professional_claim_segments() -> None:
    segments = _segments(_write(SHAPES["professional"]()))

    assert "GS*HC*CLAIMFLOW01*SANDBOXCH*20250314*0930*2001*X*005010X222A1" in segments
    assert "ST*837*3001*005010X222A1" in segments
    assert "NM1*85*2*RIVERSIDE FAMILY MEDICINE*****XX*1234567893" in segments
    assert "N4*SPRINGFIELD*IL*627010001" in segments
    assert "REF*EI*123456789" in segments
    assert "NM1*87*2" in segments
    assert "SBR*P*18*GRP100*SPRINGFIELD SCHOOLS*****CI" in segments
    assert "DMG*D8*19800501*F" in segments
    assert "CLM*PCN-P-0001*175***11:B:1*Y*A*Y*Y" in segments
    assert "HI*ABK:E119*ABF:I10" in segments
    assert "SV1*HC:99214:25*150*UN*1***1:2" in segments
    assert "SV1*HC:81002*25*UN*1***1" in segments
    assert segments.count("DTP*472*D8*20250303") == 2
    assert "REF*6R*LN-1" in segments
    assert not any(s.startswith(("HL*3", "PAT*", "REF*F8", "REF*G1")) for s in segments)


def test_dependent_claim_hangs_from_a_patient_level() -> None:
    segments = _segments(_write(SHAPES["dependent"]()))

    hls = [s for s in segments if s.startswith("HL*")]
    assert hls == ["HL*1**20*1", "HL*2*1*22*1", "HL*3*2*23*0"]
    assert "SBR*P**GRP100*SPRINGFIELD SCHOOLS*****CI" in segments
    assert "PAT*19" in segments
    assert "NM1*QC*1*DOE*TIMMY" in segments
    assert "DMG*D8*20150809*M" in segments
    assert "DMG*D8*19800501*F" not in segments  # the subscriber's demographics are not sent
    assert segments.index("PAT*19") < segments.index("CLM*PCN-D-0001*175***11:B:1*Y*A*Y*Y")


def test_referring_and_rendering_providers_and_facility() -> None:
    segments = _segments(_write(SHAPES["referring_rendering"]()))

    referring = segments.index("NM1*DN*1*CHEN*WEI*L***XX*1581234568")
    rendering = segments.index("NM1*82*1*RIVERA*ANA****XX*1999996667")
    facility = segments.index("NM1*77*2*SPRINGFIELD IMAGING CENTER*****XX*1765432103")
    assert segments.index("HI*ABK:E119*ABF:I10") < referring < rendering < facility < segments.index("LX*1")
    assert segments[rendering + 1] == "PRV*PE*PXC*207Q00000X"
    assert segments[facility + 1 : facility + 3] == ["N3*9 LAB WAY", "N4*SPRINGFIELD*IL*62703"]
    assert "CLM*PCN-R-0001*175***22:B:1*Y*A*Y*Y" in segments


def test_rendering_provider_is_left_out_when_it_is_the_billing_provider() -> None:
    claim = SHAPES["referring_rendering"]()
    same = replace(claim, rendering_provider=replace(claim.rendering_provider, npi=claim.billing_provider.npi))

    segments = _segments(_write(same))

    assert not any(s.startswith("NM1*82*") for s in segments)
    assert pyx12_errors(_write(same).text) == []


def test_institutional_rendering_provider_is_left_out_when_it_is_the_attending() -> None:
    claim = SHAPES["institutional_outpatient"]()
    same = replace(claim, rendering_provider=claim.institutional.attending)

    assert not any(s.startswith("NM1*82*") for s in _segments(_write(same)))


def test_prior_authorization_is_ref_g1_before_hi() -> None:
    segments = _segments(_write(SHAPES["prior_authorization"]()))

    assert segments.index("REF*G1*AUTH-55501") < segments.index("HI*ABK:E119*ABF:I10")


@pytest.mark.parametrize(
    ("shape", "clm05", "ref_f8"),
    [("corrected", "11:B:7", "REF*F8*PAYERICN0001"), ("void", "11:B:8", "REF*F8*PAYERICN0002")],
)
def test_corrected_and_void_claims_carry_frequency_and_original_number(shape: str, clm05: str, ref_f8: str) -> None:
    claim = SHAPES[shape]()
    segments = _segments(_write(claim))

    clm = next(s for s in segments if s.startswith("CLM*"))
    assert clm.split("*")[5] == clm05
    assert segments.index(ref_f8) == segments.index(clm) + 1


def test_drug_line_carries_ndc_and_quantity() -> None:
    segments = _segments(_write(SHAPES["drug_ndc"]()))

    sv1 = segments.index("SV1*HC:J1100:JZ*53.37*UN*2.5***1")
    assert segments[sv1 + 1 : sv1 + 4] == ["DTP*472*D8*20250303", "LIN**N4*00009047301", "CTP****1.25*ML"]
    assert "CLM*PCN-N-0001*103.37***11:B:1*Y*A*Y*Y" in segments


def test_secondary_claim_reports_the_primary_payment_per_line() -> None:
    segments = _segments(_write(SHAPES["secondary_line_level"]()))

    assert "SBR*S*18*BG77******12" in segments  # billed to BEACON as secondary
    other = segments.index("SBR*P*18*GRP100*SPRINGFIELD SCHOOLS*****CI")  # ACME, loop 2320
    assert segments[other + 1 : other + 4] == ["AMT*D*80", "AMT*EAF*40", "OI***Y***Y"]
    assert segments[other + 4] == "NM1*IL*1*DOE*JANE*Q***MI*ACM900000001"  # 2330A
    payer = segments.index("NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01", other)  # 2330B
    assert segments[payer + 3] == "REF*F8*ACMEICN778899"
    assert "DTP*573*D8*20250312" not in segments[other : segments.index("LX*1")]  # dated per line instead
    svd = segments.index("SVD*ACME01*80*HC:99214:25**1")
    assert segments[svd + 1 : svd + 5] == ["CAS*CO*45*50", "CAS*PR*2*20", "DTP*573*D8*20250312", "AMT*EAF*20"]
    assert "SVD*ACME01*0*HC:81002**1" in segments


def test_secondary_claim_with_claim_level_adjustments_only() -> None:
    segments = _segments(_write(SHAPES["secondary_claim_level"]()))

    other = segments.index("SBR*P*18*GRP100*SPRINGFIELD SCHOOLS*****CI")
    assert segments[other + 1 : other + 5] == ["CAS*CO*45*35", "CAS*PR*3*30", "AMT*D*110", "AMT*EAF*30"]
    payer = segments.index("NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01", other)
    assert segments[payer + 3] == "DTP*573*D8*20250312"
    assert not any(s.startswith("SVD*") for s in segments)


def test_institutional_inpatient_claim_segments() -> None:
    segments = _segments(_write(SHAPES["institutional_inpatient"]()))

    assert "GS*HC*CLAIMFLOW01*SANDBOXCH*20250314*0930*2001*X*005010X223A2" in segments
    clm = segments.index("CLM*PCN-I-0001*4175.5***11:A:1**A*Y*Y")
    assert segments[clm + 1 : clm + 8] == [
        "DTP*434*RD8*20250301-20250304",
        "DTP*435*DT*202503011405",
        "CL1*1*7*01",
        "HI*ABK:I214:::::::Y",
        "HI*ABJ:R079",
        "HI*ABF:E119:::::::N*ABF:I10:::::::Y",
        "NM1*71*1*OKAFOR*NKEM****XX*1045678905",
    ]
    assert "PRV*BI*PXC*282N00000X" in segments
    assert "SV2*0120**3600*UN*3" in segments
    assert "SV2*0300*HC:80053*450.5*UN*2" in segments
    assert "LIN**N4*00009047301" in segments


def test_institutional_outpatient_claim_segments() -> None:
    segments = _segments(_write(SHAPES["institutional_outpatient"]()))

    assert "CL1***01" in segments
    assert not any(s.startswith("DTP*435") for s in segments)
    attending = segments.index("NM1*71*1*OKAFOR*NKEM****XX*1045678905")
    rendering = segments.index("NM1*82*1*RIVERA*ANA****XX*1999996667")
    referring = segments.index("NM1*DN*1*CHEN*WEI*L***XX*1581234568")
    assert segments.index("REF*G1*AUTH-77") < attending < rendering < referring
    assert "SV2*0450*HC:99284*980*UN*1" in segments


def test_institutional_secondary_claim_uses_revenue_codes_in_svd() -> None:
    segments = _segments(_write(SHAPES["institutional_secondary"]()))

    assert "SBR*P*19*GRP100*SPRINGFIELD SCHOOLS*****CI" in segments  # ACME covers Timmy as a child
    assert "SVD*ACME01*80*HC:99283*0450*1" in segments
    assert "SVD*ACME01*0**0300*1" in segments
    assert "HL*3*2*23*0" in segments
