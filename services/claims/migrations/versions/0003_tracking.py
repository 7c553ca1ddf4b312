"""Acknowledgments, follow-ups, payments and secondary claims.

Claims learn which 837 transaction set carried them, how often they went out, the payer's claim
number, rejection reasons, and (for a secondary) their primary: one secondary per primary, and
one primary claim per encounter. Acknowledgment files are kept once per tenant and sha256; 276
requests and their follow-ups; payments taken from `payment-received`, once per payment id.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0003"
down_revision = "0002"
SCHEMA = "claims"


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    for column in (
        sa.Column("transaction_control_number", sa.Integer, comment="ST02 of the 837 transaction set it went out in."),
        sa.Column("submission_count", sa.Integer, server_default="0", nullable=False),
        sa.Column("payer_claim_number", sa.Text, comment="REF*1K of the 277CA, or CLP07 of the 835."),
        sa.Column("rejection_reasons", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column(
            "primary_claim_id", sa.Uuid, comment="For a secondary claim: the primary claim whose remittance it carries."
        ),
        sa.Column("responsibility", sa.String(1), server_default="P", nullable=False, comment="SBR01: P, S or T."),
    ):
        op.add_column("claims", column, schema=SCHEMA)
    op.create_foreign_key(
        "fk_claims_primary_claim_id_claims",
        "claims",
        "claims",
        ["primary_claim_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
    )
    op.create_unique_constraint("uq_claims_primary_claim_id", "claims", ["primary_claim_id"], schema=SCHEMA)
    op.drop_constraint("uq_claims_tenant_id", "claims", schema=SCHEMA)
    op.create_index(
        "uq_claims_tenant_id_encounter_id_primary",
        "claims",
        ["tenant_id", "encounter_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("primary_claim_id IS NULL"),
    )

    op.create_table(
        "acknowledgment_files",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False, comment="Empty when no claim of ours was recognised."),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("claims_changed", sa.Integer, nullable=False),
        sa.Column("summary", JSONB, nullable=False, comment="Counts and codes only; no PHI."),
        _now("received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_acknowledgment_files"),
        sa.UniqueConstraint("tenant_id", "sha256", name="uq_acknowledgment_files_tenant_id_sha256"),
        schema=SCHEMA,
    )
    op.create_table(
        "claim_payments",
        sa.Column("payment_id", sa.Uuid, nullable=False, comment="payment-received.v1 payment_id."),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("trace_number", sa.Text, nullable=False),
        sa.Column("claim_status_code", sa.Text, nullable=False),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.Column("patient_responsibility_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("next_responsible", sa.Text, nullable=False),
        sa.Column("paid_date", sa.Date, nullable=False),
        sa.Column("reversal_of", sa.Uuid),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("payment", JSONB, nullable=False, comment="The payment-received payload (ids, codes, amounts)."),
        _now("received_at"),
        sa.PrimaryKeyConstraint("payment_id", name="pk_claim_payments"),
        sa.ForeignKeyConstraint(["claim_id"], [f"{SCHEMA}.claims.id"], name="fk_claim_payments_claim_id_claims"),
        schema=SCHEMA,
    )
    op.create_index("ix_claim_payments_claim_id", "claim_payments", ["claim_id"], schema=SCHEMA)
    op.create_table(
        "status_requests",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("submitter_id", sa.Text, nullable=False),
        sa.Column("interchange_control_number", sa.Integer, nullable=False),
        sa.Column("claim_count", sa.Integer, nullable=False),
        sa.Column("x12", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        _now("created_at"),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_status_requests"),
        sa.UniqueConstraint(
            "submitter_id",
            "interchange_control_number",
            name="uq_status_requests_submitter_id_interchange_control_number",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "follow_ups",
        sa.Column("trace_number", sa.Text, nullable=False, comment="TRN02 of the 276; the 277 echoes it."),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Uuid, nullable=False),
        sa.Column("state_when_flagged", sa.Text, nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("answer_codes", ARRAY(sa.Text), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("trace_number", name="pk_follow_ups"),
        sa.ForeignKeyConstraint(["claim_id"], [f"{SCHEMA}.claims.id"], name="fk_follow_ups_claim_id_claims"),
        sa.ForeignKeyConstraint(
            ["request_id"], [f"{SCHEMA}.status_requests.id"], name="fk_follow_ups_request_id_status_requests"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_follow_ups_tenant_id_flagged_at", "follow_ups", ["tenant_id", "flagged_at"], schema=SCHEMA)
    op.create_index("ix_follow_ups_claim_id", "follow_ups", ["claim_id"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("follow_ups", "status_requests", "claim_payments", "acknowledgment_files"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("uq_claims_tenant_id_encounter_id_primary", table_name="claims", schema=SCHEMA)
    op.create_unique_constraint("uq_claims_tenant_id", "claims", ["tenant_id", "encounter_id"], schema=SCHEMA)
    op.drop_constraint("uq_claims_primary_claim_id", "claims", schema=SCHEMA)
    op.drop_constraint("fk_claims_primary_claim_id_claims", "claims", schema=SCHEMA)
    for column in (
        "responsibility", "primary_claim_id", "rejection_reasons", "payer_claim_number", "submission_count",
        "transaction_control_number",
    ):  # fmt: skip
        op.drop_column("claims", column, schema=SCHEMA)
