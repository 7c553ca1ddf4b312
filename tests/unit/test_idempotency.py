"""The request fingerprint of the Idempotency-Key protocol: the same request, however it is written, is the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel

from shared.idempotency import Answer, request_fingerprint


class Payment(BaseModel):
    amount_cents: int
    received_on: dt.date


def test_the_same_parsed_body_is_the_same_request_whatever_its_key_order() -> None:
    first = request_fingerprint("POST", "/fhir/Claim", {"resourceType": "Claim", "total": Decimal("155.00")})
    again = request_fingerprint("POST", "/fhir/Claim", {"total": Decimal("155.00"), "resourceType": "Claim"})
    assert first == again and len(first) == 64


def test_method_path_and_body_each_make_another_request() -> None:
    body = Payment(amount_cents=2500, received_on=dt.date(2026, 3, 2))
    first = request_fingerprint("POST", "/v1/patients", body)
    assert first == request_fingerprint("POST", "/v1/patients", body.model_copy())
    assert first != request_fingerprint("PUT", "/v1/patients", body)
    assert first != request_fingerprint("POST", "/v1/payers", body)
    assert first != request_fingerprint("POST", "/v1/patients", body.model_copy(update={"amount_cents": 2501}))


def test_a_replayed_answer_says_so_in_its_header_and_a_first_one_does_not() -> None:
    replayed = Answer(200, {"id": "x"}, replayed=True).response()
    first = Answer(201, {"id": "x"}).response()
    assert (replayed.status_code, replayed.headers["idempotent-replayed"]) == (200, "true")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert replayed.body == first.body == b'{"id":"x"}'


def test_a_json_ready_answer_is_rendered_as_json_response_renders_it() -> None:
    body = {"created": 1, "existing": 0, "results": [{"id": "x", "name": 'NÚÑEZ \u2028 "q" \\', "n": -(2**62)}]}
    ready = Answer(200, body, json_ready=True).response()
    assert ready.body == Answer(200, body).response().body
    assert ready.headers["content-type"] == "application/json"
