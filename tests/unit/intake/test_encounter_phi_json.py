"""The PHI members of an encounter sealed in `encounters.phi`: dumped directly when there is no ambulance trip, they
must be the members pydantic dumps (`ENCOUNTER_PHI`), with the same values."""

from __future__ import annotations

import orjson

from services.intake.repository import ENCOUNTER_PHI, encounter_phi_json
from tests.support.intake_builders import ADDRESS, encounter


def test_the_phi_members_are_the_models_with_or_without_a_trip() -> None:
    trip = {"reason_code": "A", "distance_miles": "3.5", "pick_up": ADDRESS, "patient_weight_lbs": 180,
            "drop_off_name": "SYNTHETIC HOSPITAL", "drop_off": ADDRESS}  # fmt: skip
    for visit in (encounter(patient_id=None, patient_external_id="MRN-7"), encounter(), encounter(ambulance=trip)):
        dumped = orjson.loads(encounter_phi_json(visit))
        assert dumped == orjson.loads(visit.model_dump_json(include=ENCOUNTER_PHI))
        assert set(dumped) == ENCOUNTER_PHI
