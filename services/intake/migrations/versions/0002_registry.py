"""Patients, coverages, providers, payers, facilities, the customer's CPT list, idempotency keys.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
SCHEMA = "intake"


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _record_table(name: str, key: str, *extra: sa.Column, unique: tuple[str, ...] = ()) -> None:
    columns = unique or (key,)
    op.create_table(
        name,
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        *extra,
        sa.Column(key, sa.Text if key != "npi" else sa.String(10), nullable=False),
        sa.Column("record", JSONB, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint("tenant_id", *columns, name="_".join((f"uq_{name}_tenant_id", *columns))),
        schema=SCHEMA,
    )


def upgrade() -> None:
    op.add_column(
        "encounters",
        sa.Column("unresolved", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        schema=SCHEMA,
    )
    _record_table("patients", "external_patient_id")
    _record_table("providers", "npi")
    _record_table("payers", "payer_id")
    _record_table("facilities", "external_facility_id")
    _record_table(
        "coverages",
        "member_id",
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        unique=("patient_id", "payer_id", "member_id"),
    )
    op.create_foreign_key(
        "fk_coverages_patient_id_patients",
        "coverages",
        "patients",
        ["patient_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="CASCADE",
    )
    op.create_table(
        "cpt_codes",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "code", name="pk_cpt_codes"),
        schema=SCHEMA,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.SmallInteger, nullable=True),
        sa.Column("response_body", JSONB, nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_idempotency_keys"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for name in ("idempotency_keys", "cpt_codes", "coverages", "facilities", "payers", "providers", "patients"):
        op.drop_table(name, schema=SCHEMA)
    op.drop_column("encounters", "unresolved", schema=SCHEMA)
