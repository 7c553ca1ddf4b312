"""Tables of the intake schema.

Each registered record keeps the validated request it came from in `record` (JSONB) beside the
columns it is looked up by; every table leads with `tenant_id` and every unique key includes it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import service_metadata
from shared.idempotency import idempotency_table
from shared.messaging.tables import messaging_tables
from shared.phi.access import phi_access_table
from shared.phi.keys import phi_keys_table

SCHEMA = "intake"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
phi_keys = phi_keys_table(metadata)
phi_access = phi_access_table(metadata)


def _created_at() -> sa.Column[dt.datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


encounters = sa.Table(
    "encounters",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("external_encounter_id", sa.Text, nullable=False),
    sa.Column("claim_type", sa.Text, nullable=False),
    sa.Column("total_charge_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column(
        "coding",
        sa.JSON,
        nullable=False,
        doc="the encounter as received, without its PHI members (see phi); json, not jsonb: kept as written, "
        "never queried inside, and not parsed into jsonb on every insert (0009)",
    ),
    sa.Column("phi", sa.LargeBinary, nullable=True, doc="the MRN and ambulance members of the coding, sealed"),
    sa.Column("unresolved", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("patient_id", sa.Uuid, nullable=True, doc="intake's patient id (null for encounters stored before 0005)"),
    sa.Column("status", sa.Text, nullable=False, server_default="active", doc="active, or cancelled with its claim"),
    sa.Column("cancel_reason", sa.Text, nullable=True),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("tenant_id", "external_encounter_id", name="uq_encounters_tenant_id"),
    sa.Index("ix_encounters_tenant_id_patient_id", "tenant_id", "patient_id"),
    sa.Index("ix_encounters_tenant_id_received_at", "tenant_id", "received_at", "id"),
)

patients = sa.Table(
    "patients",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("external_patient_id", sa.Text, nullable=True, doc="plaintext of rows stored before 0006 only"),
    sa.Column("record", JSONB, nullable=False, doc="demographics of rows stored before 0006; {} once sealed"),
    sa.Column("phi", sa.LargeBinary, nullable=True, doc="the record, sealed (shared.phi)"),
    sa.Column("external_patient_id_bidx", sa.LargeBinary, nullable=True, doc="blind index of the MRN"),
    sa.Column("last_name_bidx", sa.LargeBinary, nullable=True),
    sa.Column("first_name_bidx", sa.LargeBinary, nullable=True),
    sa.Column("birth_date_bidx", sa.LargeBinary, nullable=True),
    _created_at(),
    sa.UniqueConstraint("tenant_id", "external_patient_id"),
    sa.UniqueConstraint("tenant_id", "external_patient_id_bidx"),
    sa.Index("ix_patients_tenant_id_last_name_bidx", "tenant_id", "last_name_bidx"),
)

coverages = sa.Table(
    "coverages",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("member_id", sa.Text, nullable=True, doc="plaintext of rows stored before 0006 only"),
    sa.Column("record", JSONB, nullable=False, doc="the coverage of rows stored before 0006; {} once sealed"),
    sa.Column("phi", sa.LargeBinary, nullable=True, doc="the record, sealed (shared.phi)"),
    sa.Column("member_id_bidx", sa.LargeBinary, nullable=True, doc="blind index of the member id"),
    _created_at(),
    sa.UniqueConstraint("tenant_id", "patient_id", "payer_id", "member_id"),
    sa.UniqueConstraint("tenant_id", "patient_id", "payer_id", "member_id_bidx"),
    sa.Index("ix_coverages_tenant_id_member_id_bidx", "tenant_id", "member_id_bidx"),
)

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("npi", sa.String(10), nullable=False),
    sa.Column("record", JSONB, nullable=False, doc="the provider of rows stored before 0006; {} once sealed"),
    sa.Column("phi", sa.LargeBinary, nullable=True, doc="the record (tax id, address), sealed (shared.phi)"),
    _created_at(),
    sa.UniqueConstraint("tenant_id", "npi"),
)

payers = sa.Table(
    "payers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("record", JSONB, nullable=False),
    _created_at(),
    sa.UniqueConstraint("tenant_id", "payer_id"),
)

facilities = sa.Table(
    "facilities",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("external_facility_id", sa.Text, nullable=False),
    sa.Column("record", JSONB, nullable=False),
    _created_at(),
    sa.UniqueConstraint("tenant_id", "external_facility_id"),
)

# Every change made to a registered party (PATCH, or a coverage corrected from a claim fix): the fields
# changed and the record before and after (PHI stays in intake's schema; the API reads it back).
party_changes = sa.Table(
    "party_changes",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("party_kind", sa.Text, nullable=False, doc="patient, coverage, provider, payer or facility"),
    sa.Column("party_id", sa.Uuid, nullable=False),
    sa.Column("source", sa.Text, nullable=False, doc="api, or claim-fix (a member id corrected on a claim)"),
    sa.Column("changed_fields", JSONB, nullable=False),
    sa.Column("before", JSONB, nullable=False),
    sa.Column("after", JSONB, nullable=False),
    sa.Column("phi", sa.LargeBinary, nullable=True, doc="before and after, sealed; they are {} then"),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("ix_party_changes_tenant_id_party_id", "tenant_id", "party_id", "id"),
)

# The customer's licensed CPT list; CPT itself never ships with claimflow.
cpt_codes = sa.Table(
    "cpt_codes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("code", sa.String(5), primary_key=True),
    sa.Column("description", sa.Text, nullable=True),
)

idempotency_keys = idempotency_table(metadata, sealed_answers=True)
"""Answers name patients (a registration's answer is the patient): kept sealed."""

eligibility_interchange_numbers = sa.Sequence(
    "eligibility_interchange_numbers", metadata=metadata, minvalue=1, maxvalue=999_999_999, cycle=True
)

# One 270 inquiry about one coverage and its 271 answer.
eligibility_checks = sa.Table(
    "eligibility_checks",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("patient_id", sa.Uuid, nullable=False),
    sa.Column("coverage_id", sa.Uuid, sa.ForeignKey("coverages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("payer_id", sa.Text, nullable=False),
    sa.Column("provider_npi", sa.String(10), nullable=False),
    sa.Column("service_date", sa.Date, nullable=False),
    sa.Column("trace_number", sa.Text, nullable=False, unique=True, doc="TRN02 of the 270; the 271 echoes it"),
    sa.Column("interchange_control_number", sa.Integer, nullable=False, unique=True, doc="ISA13 of the 270"),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("sent_sha256", sa.String(64), nullable=False),
    sa.Column("state", sa.Text, nullable=False, doc="sent, then active, inactive, rejected or unknown"),
    sa.Column("answer", JSONB, nullable=True, doc="the 271 summarised: status, AAA codes, plan dates, benefits"),
    sa.Column("response_file_name", sa.Text, nullable=True),
    sa.Column("response_sha256", sa.String(64), nullable=True),
    _created_at(),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_eligibility_checks_tenant_id_patient_id", "tenant_id", "patient_id"),
)
