"""The stored summary of a 271 (`answer_for`): status, AAA codes, plan dates, benefit lines."""

from __future__ import annotations

from services.intake.domain.eligibility import answer_for, parse_271

HEAD = (
    "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW      *260302*1000*^*00501*000000007*0*T*:~"
    "GS*HB*SANDBOXCH*CLAIMFLOW*20260302*1000*7*X*005010X279A1~ST*271*0001*005010X279A1~"
    "BHT*0022*11*T1*20260302*1000~HL*1**20*1~NM1*PR*2*PLAN*****PI*P1~HL*2*1*21*1~NM1*1P*2*CLINIC*****XX*1234567893~"
)


def file_271(*body: str) -> str:
    count = 7 + len(body)  # ST, BHT, HL, NM1, HL, NM1, the body, SE
    return HEAD + "".join(f"{s}~" for s in body) + f"SE*{count}*0001~GE*1*7~IEA*1*000000007~"


def test_active_coverage_with_plan_dates_and_a_copay() -> None:
    text = file_271(
        "HL*3*2*22*0", "TRN*2*T1*1999999999", "NM1*IL*1*DOE*JOHN****MI*SYN1", "DTP*346*D8*20260101",
        "DTP*347*D8*20261231", "EB*1*IND*30*HM*GOLD", "EB*B*IND*98*HM*GOLD*27*25",
    )  # fmt: skip
    answer = answer_for(parse_271(text), "T1")
    assert answer is not None
    assert answer["status"] == "active" and answer["rejections"] == []
    assert (answer["plan_begin"], answer["plan_end"]) == ("2026-01-01", "2026-12-31")
    copay = answer["benefits"][1]  # type: ignore[index]
    assert copay["meaning"] == "co-payment" and copay["amount"] == "25" and copay["service_types"] == ["98"]
    assert "DOE" not in repr(answer) and "SYN1" not in repr(answer)  # no names or member ids kept


def test_an_aaa_is_a_rejection_with_its_reason_code() -> None:
    text = file_271("HL*3*2*22*0", "TRN*2*T1*1999999999", "NM1*IL*1*DOE*JOHN****MI*BAD1", "AAA*N**72*C")
    answer = answer_for(parse_271(text), "T1")
    assert answer is not None and answer["status"] == "rejected" and answer["benefits"] == []
    (rejection,) = answer["rejections"]  # type: ignore[misc]
    assert rejection == {
        "loop": "subscriber",
        "reason_code": "72",
        "follow_up": "C",
        "description": "invalid/missing subscriber/insured id",
    }


def test_inactive_and_a_plan_period_range() -> None:
    text = file_271("HL*3*2*22*0", "TRN*2*T1*1999999999", "NM1*IL*1*A*B****MI*X1", "DTP*291*RD8*20250101-20251231",
                    "EB*6**30")  # fmt: skip
    answer = answer_for(parse_271(text), "T1")
    assert answer is not None and answer["status"] == "inactive"
    assert (answer["plan_begin"], answer["plan_end"]) == ("2025-01-01", "2025-12-31")


def test_another_trace_number_is_not_answered() -> None:
    text = file_271("HL*3*2*22*0", "TRN*2*T1*1999999999", "NM1*IL*1*A*B****MI*X1", "EB*1**30")
    assert answer_for(parse_271(text), "T2") is None
