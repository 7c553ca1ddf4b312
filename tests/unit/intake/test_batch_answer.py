"""The batch endpoint's answer is built as JSON values, not as `EncounterBatchOut`: it must be that model's JSON."""

from __future__ import annotations

import datetime as dt
import uuid

from services.intake.api import batch_answer
from services.intake.repository import Encounter
from services.intake.schemas import EncounterBatchOut
from services.intake.service import Received


def _received(external_id: str, created: bool) -> Received:
    at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    return Received(Encounter(uuid.uuid4(), external_id, "professional", 12500, "USD", at, []), created)


def test_the_batch_answer_is_the_json_of_the_declared_model() -> None:
    received = [_received("ENC-1", True), _received("ENC-2", False), _received("ENC-3", True)]
    answer = batch_answer(received).content
    assert EncounterBatchOut.model_validate(answer).model_dump(mode="json") == answer
    assert (answer["created"], answer["existing"]) == (2, 1)
    assert answer["results"] == [
        {"index": index, "id": str(item.encounter.id), "external_encounter_id": item.encounter.external_encounter_id,
         "status": "created" if item.created else "existing"}
        for index, item in enumerate(received)
    ]  # fmt: skip
