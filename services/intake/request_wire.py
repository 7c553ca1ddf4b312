"""The fast path of intake's encounter bodies: a msgspec mirror of `schemas.EncounterIn` (and its batch) that decodes
and validates the request's bytes; the service, its domain and its repository read the mirror itself (no pydantic
model per encounter), FastAPI getting a shell of the body model that carries it.

The pydantic models stay the contract: they give the OpenAPI document, and every body this path does not accept is
validated by them, so each 422 is exactly the one they always gave. This path only ever says "valid, and here are
the values" or "not sure": it declines (returns None) whenever a body is refused by a constraint or a rule, holds
a string escape that could be a control character, or uses a rarely sent part it does not mirror (a line's `drug`,
an `ambulance`: decimal quantities; null is mirrored). What it accepts, the pydantic model accepts with the same
values (tests/unit/intake/test_request_wire.py builds the models from the mirrors and compares them on every example
and a set of edge cases; tests/unit/intake/test_mirror_through.py compares what the service writes from each).

Each field's constraints are msgspec `Meta` (lengths, patterns with `\\Z` as pydantic's regex engine anchors,
bounds); the rules written in Python (NPI check digit, X12 text, code shapes, cross-field validators) are the same
functions the models call, each judged once per distinct value of a body.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta
from pydantic import BaseModel, PrivateAttr

from services.intake import schemas
from shared import codesets
from shared.codesets.formats import MAX_DIAGNOSIS_POINTERS, MAX_MODIFIERS, icd10pcs_shape_problem
from shared.npi import npi_problem
from shared.x12.party_rules import address_problems
from shared.x12.transliteration import name_problem

# Field shapes (schemas.py's, as msgspec constraints) -----------------------------------------------------------

Npi = str
ExternalId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+\Z")]
PayerCode = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9]+\Z")]
ClaimIdentifier = Annotated[str, Meta(min_length=1, max_length=50)]
DiagnosisCode = Annotated[str, Meta(min_length=3, max_length=8)]
Cents = Annotated[int, Meta(ge=0, le=99_999_999_99)]
UsState = Annotated[str, Meta(pattern=r"^[A-Z]{2}\Z")]
X12Text55 = Annotated[str, Meta(min_length=1, max_length=55)]
City = Annotated[str, Meta(min_length=2, max_length=30)]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """Base of the mirrors: unknown fields refused (the models' extra="forbid"); each default the model's own."""


class AddressW(_In, kw_only=True):
    line1: X12Text55
    line2: X12Text55 | None = None
    city: City
    state: UsState
    postal_code: Annotated[str, Meta(pattern=r"^\d{5}(\d{4})?\Z")]


class AttachmentW(_In, kw_only=True):
    report_type: Annotated[str, Meta(pattern=r"^[0-9A-Z]{2}\Z")]
    transmission: Literal["AA", "BM", "EL", "EM", "FT", "FX"]
    control_number: Annotated[str, Meta(min_length=2, max_length=50, pattern=r"^[A-Za-z0-9-]+\Z")] | None = None


class DmeCertificateW(_In, kw_only=True):
    certification: Literal["I", "R", "S"]
    duration_months: Annotated[int, Meta(ge=1, le=99)]


class ServiceLineW(_In, kw_only=True):
    line_number: Annotated[int, Meta(ge=1, le=999)]
    procedure_code: str | None = None
    revenue_code: str | None = None
    modifiers: Annotated[list[str], Meta(max_length=MAX_MODIFIERS)] = []
    units: Annotated[int, Meta(ge=1, le=99_999)]
    charge_cents: Cents | None = None
    diagnosis_pointers: Annotated[list[Annotated[int, Meta(ge=1, le=12)]], Meta(max_length=MAX_DIAGNOSIS_POINTERS)] = []
    service_date: dt.date
    service_date_end: dt.date | None = None
    place_of_service: str | None = None
    drug: None = None
    """Not mirrored (a decimal quantity): a line with a drug goes through the model (the mirror refuses any value but
    null)."""
    emergency: bool = False
    unit_basis: Literal["UN", "MJ"] = "UN"
    rendering_provider_npi: Npi | None = None
    ordering_provider_npi: Npi | None = None
    supervising_provider_npi: Npi | None = None
    attachments: Annotated[list[AttachmentW], Meta(max_length=10)] = []
    dme_certificate: DmeCertificateW | None = None


class AdmissionW(_In, kw_only=True):
    admitted_on: dt.date
    type_code: Annotated[str, Meta(pattern=r"^\d\Z")]
    source_code: Annotated[str, Meta(pattern=r"^[0-9A-Z]\Z")]
    hour: Annotated[int, Meta(ge=0, le=23)] | None = None


class ProcedureW(_In, kw_only=True):
    code: str
    date: dt.date


class OccurrenceW(_In, kw_only=True):
    code: str
    date: dt.date


class OccurrenceSpanW(_In, kw_only=True):
    code: str
    start: dt.date
    end: dt.date


class ValueW(_In, kw_only=True):
    code: str
    amount_cents: int


class InstitutionalW(_In, kw_only=True):
    facility_type_code: Annotated[str, Meta(pattern=r"^\d{2}\Z")]
    patient_status_code: Annotated[str, Meta(pattern=r"^\d{2}\Z")]
    attending_provider_npi: Npi
    admission: AdmissionW | None = None
    admitting_diagnosis: DiagnosisCode | None = None
    present_on_admission: Annotated[list[Annotated[str, Meta(max_length=1)]], Meta(max_length=25)] = []
    discharge_hour: Annotated[int, Meta(ge=0, le=23)] | None = None
    patient_reasons_for_visit: Annotated[list[DiagnosisCode], Meta(max_length=3)] = []
    drg: Annotated[str, Meta(pattern=r"^\d{3}\Z")] | None = None
    principal_procedure: ProcedureW | None = None
    other_procedures: Annotated[list[ProcedureW], Meta(max_length=24)] = []
    occurrences: Annotated[list[OccurrenceW], Meta(max_length=24)] = []
    occurrence_spans: Annotated[list[OccurrenceSpanW], Meta(max_length=24)] = []
    values: Annotated[list[ValueW], Meta(max_length=24)] = []
    condition_codes: Annotated[list[str], Meta(max_length=24)] = []
    operating_provider_npi: Npi | None = None
    other_operating_provider_npi: Npi | None = None


class AdjustmentW(_In, kw_only=True):
    group: Literal["CO", "CR", "OA", "PI", "PR"]
    reason_code: Annotated[str, Meta(pattern=r"^[A-Z0-9]{1,5}\Z")]
    amount_cents: int


class PriorPayerLineW(_In, kw_only=True):
    line_number: Annotated[int, Meta(ge=1)]
    paid_cents: Cents
    paid_units: Annotated[int, Meta(ge=0)]
    adjustments: Annotated[list[AdjustmentW], Meta(max_length=20)] = []


class PriorPayerW(_In, kw_only=True):
    payer_id: PayerCode
    paid_cents: Cents
    adjudication_date: dt.date
    claim_adjustments: Annotated[list[AdjustmentW], Meta(max_length=20)] = []
    lines: list[PriorPayerLineW] = []
    payer_claim_control_number: ClaimIdentifier | None = None


class AccidentW(_In, kw_only=True):
    causes: Annotated[list[Literal["AA", "EM", "OA"]], Meta(min_length=1, max_length=2)]
    state: UsState | None = None
    occurred_on: dt.date | None = None


class ClaimOptionsW(_In, kw_only=True):
    provider_signature_on_file: bool = True
    assignment: Literal["A", "B", "C"] = "A"
    benefits_assigned: bool = True
    release_of_information: Literal["I", "Y"] = "Y"


class EncounterW(_In, kw_only=True):
    external_encounter_id: ExternalId
    claim_type: Literal["professional", "institutional"]
    patient_id: uuid.UUID | None = None
    patient_external_id: ExternalId | None = None
    payer_id: PayerCode
    billing_provider_npi: Npi
    rendering_provider_npi: Npi | None = None
    referring_provider_npi: Npi | None = None
    facility_id: uuid.UUID | None = None
    facility_external_id: ExternalId | None = None
    place_of_service: str
    service_date_from: dt.date
    service_date_to: dt.date
    diagnosis_codes: Annotated[list[DiagnosisCode], Meta(min_length=1, max_length=25)]
    lines: Annotated[list[ServiceLineW], Meta(min_length=1, max_length=999)]
    currency: Literal["USD"] = "USD"
    frequency_code: Literal["1", "2", "3", "4", "5", "7", "8"] = "1"
    original_claim_number: ClaimIdentifier | None = None
    prior_authorization: ClaimIdentifier | None = None
    institutional: InstitutionalW | None = None
    prior_payer_adjudications: Annotated[list[PriorPayerW], Meta(max_length=2)] = []
    supervising_provider_npi: Npi | None = None
    pay_to_address: AddressW | None = None
    attachments: Annotated[list[AttachmentW], Meta(max_length=10)] = []
    delay_reason_code: Literal["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "15"] | None = None
    accident: AccidentW | None = None
    onset_date: dt.date | None = None
    ambulance: None = None
    """Not mirrored (a decimal distance): an encounter with an ambulance trip goes through the model (the mirror
    refuses any value but null)."""
    claim_options: ClaimOptionsW = msgspec.field(default_factory=ClaimOptionsW)


class EncounterBatchW(_In, kw_only=True):
    encounters: Annotated[list[EncounterW], Meta(min_length=1, max_length=1000)]


# Rules the models run in Python, judged once per distinct value of a body -----------------------------------------


class _Declined(Exception):
    """The body breaks a rule (or uses a part not mirrored): the model validates it and words the 422."""


class _Rules:
    """The Python rules of the models, each verdict kept for the body (a batch repeats its NPIs and codes)."""

    def __init__(self) -> None:
        self._verdicts: dict[tuple[Callable[[str], str | None], str], bool] = {}

    def require(self, problem: Callable[[str], str | None], value: str) -> None:
        key = (problem, value)
        ok = self._verdicts.get(key)
        if ok is None:
            ok = self._verdicts[key] = problem(value) is None
        if not ok:
            raise _Declined

    def npi(self, value: str | None) -> None:
        if isinstance(value, str):
            self.require(npi_problem, value)

    def identifier(self, value: str | None) -> None:
        if isinstance(value, str):
            self.require(schemas.identifier_problem, value)

    def address(self, address: AddressW | None) -> None:
        if not isinstance(address, AddressW):
            return
        self.require(_address_line, address.line1)
        if isinstance(address.line2, str):
            self.require(_address_line, address.line2)
        self.require(_city, address.city)
        if address_problems(city=address.city, state=address.state, postal_code=address.postal_code, billing=False):
            raise _Declined

    def attachments(self, attachments: list[AttachmentW]) -> None:
        for attachment in attachments or ():
            if not isinstance(attachment.control_number, str) and attachment.transmission != "AA":
                raise _Declined

    def line(self, line: ServiceLineW) -> None:
        if isinstance(line.procedure_code, str):
            self.require(codesets.validate_procedure, line.procedure_code)
        if isinstance(line.revenue_code, str):
            self.require(codesets.validate_revenue_code, line.revenue_code)
        for modifier in line.modifiers or ():
            self.require(codesets.validate_modifier, modifier)
        if isinstance(line.place_of_service, str):
            self.require(codesets.validate_place_of_service, line.place_of_service)
        self.npi(line.rendering_provider_npi)
        self.npi(line.ordering_provider_npi)
        self.npi(line.supervising_provider_npi)
        self.attachments(line.attachments)

    def institutional(self, institutional: InstitutionalW | None) -> None:
        if not isinstance(institutional, InstitutionalW):
            return
        self.npi(institutional.attending_provider_npi)
        self.npi(institutional.operating_provider_npi)
        self.npi(institutional.other_operating_provider_npi)
        for indicator in institutional.present_on_admission or ():
            self.require(schemas.poa_problem, indicator)
        procedures = institutional.other_procedures or []
        if isinstance(institutional.principal_procedure, ProcedureW):
            procedures = [institutional.principal_procedure, *procedures]
        for procedure in procedures:
            self.require(icd10pcs_shape_problem, procedure.code)
        for occurrence in institutional.occurrences or ():
            self.require(codesets.validate_occurrence_code, occurrence.code)
        for span in institutional.occurrence_spans or ():
            self.require(codesets.validate_occurrence_span_code, span.code)
            if span.end < span.start:
                raise _Declined
        for value in institutional.values or ():
            self.require(codesets.validate_value_code, value.code)
        for condition in institutional.condition_codes or ():
            self.require(codesets.validate_condition_code, condition)

    def encounter(self, encounter: EncounterW) -> None:
        if (encounter.patient_id is None) == (encounter.patient_external_id is None):
            raise _Declined
        self.npi(encounter.billing_provider_npi)
        self.npi(encounter.rendering_provider_npi)
        self.npi(encounter.referring_provider_npi)
        self.npi(encounter.supervising_provider_npi)
        self.require(codesets.validate_place_of_service, encounter.place_of_service)
        self.identifier(encounter.original_claim_number)
        self.identifier(encounter.prior_authorization)
        for line in encounter.lines:
            self.line(line)
        self.institutional(encounter.institutional)
        for prior in encounter.prior_payer_adjudications or ():
            self.identifier(prior.payer_claim_control_number)
        self.address(encounter.pay_to_address)
        self.attachments(encounter.attachments)


def _address_line(value: str) -> str | None:
    return name_problem(value, 55)


def _city(value: str) -> str | None:
    return name_problem(value, 30)


# The pydantic models, built from the mirrors without validating again ---------------------------------------------

_set = object.__setattr__
ModelT = TypeVar("ModelT", bound=BaseModel)


class _Builder:
    """How one mirror becomes its model: its values as they are (the defaults are the model's), the mirrors inside it
    built too, and the model made as `model_construct` makes one (its `__dict__`, its fields set) without a Python
    loop over every field. Every field counts as sent (`model_fields_set`, which only `exclude_unset` reads: intake
    never dumps a request that way): one set of every name, shared by the builder's models (pydantic only ever adds
    a field's name to it, on assignment, which changes nothing), not a set per model (a 1,000-encounter batch held
    ~4 KB of them per encounter)."""

    def __init__(
        self,
        model: type[BaseModel],
        mirror: type[msgspec.Struct],
        nested: dict[str, _Builder],
    ) -> None:
        self.model = model
        self.names = set(mirror.__struct_fields__)
        self.nested = list(nested.items())

    def build(self, struct: msgspec.Struct) -> Any:
        values = msgspec.structs.asdict(struct)
        for name, builder in self.nested:
            value = values[name]
            if value:
                values[name] = [builder.build(item) for item in value] if type(value) is list else builder.build(value)
        instance = self.model.__new__(self.model)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", self.names)
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance


def _builder(model: type[BaseModel], mirror: type[msgspec.Struct], **nested: _Builder) -> _Builder:
    return _Builder(model, mirror, nested)


_ADDRESS = _builder(schemas.AddressIn, AddressW)
_ATTACHMENT = _builder(schemas.AttachmentIn, AttachmentW)
_ADJUSTMENT = _builder(schemas.AdjustmentIn, AdjustmentW)
_PROCEDURE = _builder(schemas.ProcedureIn, ProcedureW)
_LINE = _builder(
    schemas.ServiceLineIn,
    ServiceLineW,
    attachments=_ATTACHMENT,
    dme_certificate=_builder(schemas.DmeCertificateIn, DmeCertificateW),
)
_INSTITUTIONAL = _builder(
    schemas.InstitutionalIn,
    InstitutionalW,
    admission=_builder(schemas.AdmissionIn, AdmissionW),
    principal_procedure=_PROCEDURE,
    other_procedures=_PROCEDURE,
    occurrences=_builder(schemas.OccurrenceIn, OccurrenceW),
    occurrence_spans=_builder(schemas.OccurrenceSpanIn, OccurrenceSpanW),
    values=_builder(schemas.ValueIn, ValueW),
)
_PRIOR_PAYER = _builder(
    schemas.PriorPayerIn,
    PriorPayerW,
    claim_adjustments=_ADJUSTMENT,
    lines=_builder(schemas.PriorPayerLineIn, PriorPayerLineW, adjustments=_ADJUSTMENT),
)
_ENCOUNTER = _builder(
    schemas.EncounterIn,
    EncounterW,
    lines=_LINE,
    institutional=_INSTITUTIONAL,
    prior_payer_adjudications=_PRIOR_PAYER,
    pay_to_address=_ADDRESS,
    attachments=_ATTACHMENT,
    accident=_builder(schemas.AccidentIn, AccidentW),
    claim_options=_builder(schemas.ClaimOptionsIn, ClaimOptionsW),
)
_BATCH = _builder(schemas.EncounterBatchIn, EncounterBatchW, encounters=_ENCOUNTER)

MAY_HOLD_A_CONTROL_CHARACTER = re.compile(rb"\\[bfnrt]|\\u00[01]|\\u007[fF]|\x7f")
"""A JSON escape of a C0 control (or DEL, escaped or not): the models refuse them in strings, so such a body goes
through the model (JSON itself refuses them unescaped)."""

BATCH_DECODER = msgspec.json.Decoder(EncounterBatchW)
ENCOUNTER_DECODER = msgspec.json.Decoder(EncounterW)
MirrorT = TypeVar("MirrorT", bound=msgspec.Struct)


def _mirrored(body: bytes, decoder: msgspec.json.Decoder[MirrorT], check: Callable[[MirrorT], None]) -> MirrorT | None:
    if (b"\\" in body or b"\x7f" in body) and MAY_HOLD_A_CONTROL_CHARACTER.search(body) is not None:
        return None
    try:
        mirror = decoder.decode(body)
        check(mirror)
    except (msgspec.ValidationError, msgspec.DecodeError, _Declined):
        return None
    return mirror


def _check_batch(batch: EncounterBatchW) -> None:
    rules = _Rules()
    for encounter in batch.encounters:
        rules.encounter(encounter)


def _check_encounter(encounter: EncounterW) -> None:
    _Rules().encounter(encounter)


def mirrored_batch(body: bytes) -> EncounterBatchW | None:
    """The batch's mirror when this path is sure the model accepts `body` with these values; None when the model must
    judge. A body it accepts is also JSON the request guard accepts (`shared.http_guard.json_problem`): msgspec refuses
    what orjson refuses (NaN, Infinity, bad UTF-8, lone surrogates, trailing bytes), a mirror nests 7 levels at most,
    and any escape that could be a NUL is declined."""
    return _mirrored(body, BATCH_DECODER, _check_batch)


def mirrored_encounter(body: bytes) -> EncounterW | None:
    """`mirrored_batch` for one encounter."""
    return _mirrored(body, ENCOUNTER_DECODER, _check_encounter)


def as_model(encounter: EncounterW) -> schemas.EncounterIn:
    """The pydantic model `model_validate_json` builds from the body this mirror was decoded from."""
    built: schemas.EncounterIn = _ENCOUNTER.build(encounter)
    return built


def encounter_batch(body: bytes) -> schemas.EncounterBatchIn | None:
    """`EncounterBatchIn.model_validate_json(body)` when this path is sure of it; None when the model must judge."""
    mirror = mirrored_batch(body)
    built: schemas.EncounterBatchIn | None = None if mirror is None else _BATCH.build(mirror)
    return built


def encounter(body: bytes) -> schemas.EncounterIn | None:
    """`EncounterIn.model_validate_json(body)` when this path is sure of it; None when the model must judge."""
    mirror = mirrored_encounter(body)
    return None if mirror is None else as_model(mirror)


# The mirror handed through FastAPI, which keeps the models for the OpenAPI document and every 422 -------------------

EncounterBody = schemas.EncounterIn | EncounterW
"""An encounter as the service receives it: its mirror (nearly every request), or the model (what the mirror declined
and the model accepted, and FHIR claims). Each has the same fields with the same values, read alike by the domain."""
ServiceLineBody = schemas.ServiceLineIn | ServiceLineW
ProcedureBody = schemas.ProcedureIn | ProcedureW
AttachmentBody = schemas.AttachmentIn | AttachmentW
InstitutionalBody = schemas.InstitutionalIn | InstitutionalW
AdjustmentBody = schemas.AdjustmentIn | AdjustmentW
PriorPayerBody = schemas.PriorPayerIn | PriorPayerW
AddressBody = schemas.AddressIn | AddressW


def lines_of(encounter: EncounterBody) -> Sequence[ServiceLineBody]:
    """The encounter's lines, typed as either kind's (a type checker joins `list[A] | list[B]` to `object` when
    iterated with `enumerate`)."""
    return encounter.lines


def prior_payers_of(encounter: EncounterBody) -> Sequence[PriorPayerBody]:
    """The encounter's earlier payers' adjudications, typed as either kind's (see `lines_of`)."""
    return encounter.prior_payer_adjudications


def other_procedures_of(institutional: InstitutionalBody) -> Sequence[ProcedureBody]:
    """The stay's other procedures, typed as either kind's (see `lines_of`)."""
    return institutional.other_procedures


def _shell(model: type[ModelT], mirror: msgspec.Struct) -> ModelT:
    """An instance FastAPI takes for the body model already validated (pydantic does not validate an instance of the
    model again), carrying the mirror and no field: reading a field of it fails rather than giving a wrong value."""
    instance = model.__new__(model)
    _set(instance, "__dict__", {})
    _set(instance, "__pydantic_fields_set__", set())
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", {"_mirror": mirror})
    return instance


class MirroredBatchIn(schemas.EncounterBatchIn):
    """An `EncounterBatchIn` body decoded by its mirror; `encounters_of` reads it."""

    _mirror: EncounterBatchW = PrivateAttr()


class MirroredEncounterIn(schemas.EncounterIn):
    """An `EncounterIn` body decoded by its mirror; `encounter_of` reads it."""

    _mirror: EncounterW = PrivateAttr()


def batch_shell(body: bytes) -> MirroredBatchIn | None:
    mirror = mirrored_batch(body)
    return None if mirror is None else _shell(MirroredBatchIn, mirror)


def encounter_shell(body: bytes) -> MirroredEncounterIn | None:
    mirror = mirrored_encounter(body)
    return None if mirror is None else _shell(MirroredEncounterIn, mirror)


def encounters_of(batch: schemas.EncounterBatchIn) -> list[EncounterW] | list[schemas.EncounterIn]:
    """The batch's encounters: the mirrors when the mirror decoded it."""
    return batch._mirror.encounters if isinstance(batch, MirroredBatchIn) else batch.encounters


def batch_body(batch: schemas.EncounterBatchIn) -> EncounterBatchW | schemas.EncounterBatchIn:
    """What the request sent, as the idempotency fingerprint reads it (the mirror's JSON is the model's)."""
    return batch._mirror if isinstance(batch, MirroredBatchIn) else batch


def encounter_of(encounter: schemas.EncounterIn) -> EncounterW | schemas.EncounterIn:
    """The encounter: its mirror when the mirror decoded it."""
    return encounter._mirror if isinstance(encounter, MirroredEncounterIn) else encounter


FAST_DECODERS: dict[type[BaseModel], Callable[[bytes], BaseModel | None]] = {
    schemas.EncounterBatchIn: batch_shell,
    schemas.EncounterIn: encounter_shell,
}
"""The request models this module mirrors, with their fast decoders (`shared.http.ModelBodyRoute`): each gives the
model's shell carrying the mirror."""
