"""How the demo works its denial cases: the action per case, keys that repeat, and the totals."""

from __future__ import annotations

import uuid
from dataclasses import replace

from cli.demo_denials import DemoDenialCase, correction_encounter_id, denial_totals, next_action
from cli.demo_summary import ClaimOutcome, summarize

MRI_CASE = DemoDenialCase(
    id="11111111-1111-4111-8111-111111111111",
    claim_id="22222222-2222-4222-8222-222222222222",
    status="open",
    carcs=("197",),
    recommended_action="appeal",
    appealable=True,
    appeal_level=0,
    corrected_claim_control_number=None,
    denied_cents=180000,
    recovered_cents=0,
    written_off_cents=0,
)
BUNDLED_CASE = replace(MRI_CASE, id="33333333-3333-4333-8333-333333333333", carcs=("97",),
                       recommended_action="corrected_claim", denied_cents=1000)  # fmt: skip


class TestNextAction:
    def test_an_mri_denied_for_missing_authorization_gets_a_corrected_claim_with_one(self) -> None:
        action = next_action(MRI_CASE, seed=7)

        assert action is not None and action.kind == "corrected_claim"
        assert action.body() == {"kind": "corrected_claim", "prior_authorization": action.prior_authorization}
        assert action.prior_authorization is not None and action.prior_authorization.startswith("PA")
        assert len(action.prior_authorization) == 9

    def test_once_corrected_and_denied_again_the_case_is_appealed_as_recommended(self) -> None:
        upheld = replace(MRI_CASE, status="upheld", corrected_claim_control_number="C0001", appeal_level=1)

        action = next_action(upheld, seed=7)

        assert action is not None and action.kind == "appeal" and action.body() == {"kind": "appeal"}

    def test_a_case_without_an_appeal_to_make_is_written_off(self) -> None:
        action = next_action(BUNDLED_CASE, seed=7)
        not_appealable = next_action(replace(BUNDLED_CASE, recommended_action="appeal", appealable=False), seed=7)

        assert action is not None and action.kind == "write_off"
        assert not_appealable is not None and not_appealable.kind == "write_off"

    def test_cases_off_the_queue_get_nothing(self) -> None:
        for status in ("pending_payer", "overturned", "written_off", "transferred_to_patient", "voided"):
            assert next_action(replace(MRI_CASE, status=status), seed=7) is None

    def test_the_same_step_has_the_same_key_and_the_next_appeal_level_a_new_one(self) -> None:
        upheld = replace(BUNDLED_CASE, status="upheld", recommended_action="appeal", appeal_level=1)
        first, again = next_action(upheld, seed=7), next_action(upheld, seed=8)
        next_level = next_action(replace(upheld, appeal_level=2), seed=7)
        other_case = next_action(replace(upheld, id=MRI_CASE.id), seed=7)

        assert first is not None and again is not None and next_level is not None and other_case is not None
        assert first.idempotency_key == again.idempotency_key
        assert len({first.idempotency_key, next_level.idempotency_key, other_case.idempotency_key}) == 3

    def test_the_authorization_number_is_the_same_for_the_same_case_and_seed(self) -> None:
        first, again, other_seed = (next_action(MRI_CASE, seed=s) for s in (7, 7, 8))

        assert first is not None and again is not None and other_seed is not None
        assert first.prior_authorization == again.prior_authorization != other_seed.prior_authorization


def test_a_corrected_claims_encounter_is_derived_from_the_original_and_the_action() -> None:
    encounter, action = str(uuid.uuid4()), str(uuid.uuid4())

    derived = correction_encounter_id(encounter, action)

    assert derived == str(uuid.uuid5(uuid.UUID(encounter), f"correction:{action}"))
    assert derived != correction_encounter_id(encounter, str(uuid.uuid4()))


def test_totals_count_overturned_written_off_and_open_cases_and_add_their_money() -> None:
    cases = [
        replace(MRI_CASE, status="overturned", recovered_cents=126000),
        replace(MRI_CASE, id="a", status="partially_overturned", recovered_cents=5000),
        replace(BUNDLED_CASE, status="written_off", written_off_cents=1000),
        replace(BUNDLED_CASE, id="b", status="pending_payer"),
        replace(BUNDLED_CASE, id="c", status="upheld"),
    ]

    totals = denial_totals(cases)

    assert totals.as_json() == {
        "denial_cases": 5,
        "cases_overturned": 2,
        "cases_written_off": 1,
        "cases_open": 2,
        "recovered_cents": 131000,
        "written_off_cents": 1000,
    }


def test_the_summary_json_keeps_its_keys_and_adds_the_denial_and_statement_figures() -> None:
    outcome = ClaimOutcome("c1", "denied", 1000, frozenset({"submitted", "denied"}), False, None)
    summary = summarize([outcome], encounters=1, encounters_created=1, suspense_matched=0, elapsed_s=1.0, seed=1)
    worked = replace(summary, denials=denial_totals([replace(BUNDLED_CASE, status="written_off",
                     written_off_cents=1000)]), statements=2, statement_balance_cents=4500)  # fmt: skip

    shown = worked.as_json()

    added = {"denial_cases", "cases_overturned", "cases_written_off", "cases_open", "recovered_cents",
             "written_off_cents", "corrected_claims", "denial_actions", "statements",
             "statement_balance_cents"}  # fmt: skip
    before = {key: value for key, value in summary.as_json().items() if key not in added}
    assert {key: shown[key] for key in before} == before and set(shown) == set(before) | added
    assert (shown["denial_cases"], shown["written_off_cents"], shown["statements"]) == (1, 1000, 2)
    assert shown["statement_balance_cents"] == 4500
