"""835 posting: files, claim payments (with suspense), immutable ledger, patient payments, payment plans.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
SCHEMA = "remittance"


def upgrade() -> None:
    op.add_column("submitted_claims", sa.Column("patient_id", sa.Uuid, nullable=True), schema=SCHEMA)
    op.add_column(
        "submitted_claims",
        sa.Column("lines", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema=SCHEMA,
    )
    op.create_table(
        "remittance_files",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("byte_count", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("result", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remittance_files"),
        sa.UniqueConstraint("tenant_id", "content_sha256", name="uq_remittance_files_tenant_id_content_sha256"),
        schema=SCHEMA,
    )
    op.create_table(
        "claim_payments",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("file_id", sa.Uuid, nullable=False),
        sa.Column("payer_id", sa.Text, nullable=False),
        sa.Column("trace_number", sa.Text, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("status_code", sa.Text, nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("suspense_reason", sa.Text, nullable=True),
        sa.Column("claim_id", sa.Uuid, nullable=True),
        sa.Column("patient_id", sa.Uuid, nullable=True),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.Column("patient_responsibility_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payer_claim_control_number", sa.Text, nullable=False),
        sa.Column("paid_date", sa.Date, nullable=False),
        sa.Column("reversal_of", sa.Uuid, nullable=True),
        sa.Column("facts", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_claim_payments"),
        sa.ForeignKeyConstraint(
            ["file_id"], [f"{SCHEMA}.remittance_files.id"], name="fk_claim_payments_file_id_remittance_files"
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "payer_id",
            "trace_number",
            "claim_control_number",
            "status_code",
            "occurrence",
            name="uq_claim_payments_payment_key",
        ),
        sa.UniqueConstraint("reversal_of", name="uq_claim_payments_reversal_of"),
        sa.CheckConstraint("state IN ('posted', 'suspense')", name="ck_claim_payments_state"),
        sa.CheckConstraint(
            "(state = 'posted') = (claim_id IS NOT NULL AND posted_at IS NOT NULL)", name="ck_claim_payments_posted"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_claim_payments_suspense",
        "claim_payments",
        ["tenant_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'suspense'"),
    )
    op.create_index("ix_claim_payments_claim", "claim_payments", ["tenant_id", "claim_id"], schema=SCHEMA)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("account_type", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("group_code", sa.Text, nullable=True),
        sa.Column("carc", sa.Text, nullable=True),
        sa.Column("line_number", sa.Integer, nullable=True),
        sa.Column("reference", sa.Text, nullable=True),
        sa.Column("claim_payment_id", sa.Uuid, nullable=True),
        sa.Column("reversal_of", sa.BigInteger, nullable=True),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint("tenant_id", "source_key", name="uq_ledger_entries_tenant_id_source_key"),
        sa.UniqueConstraint("reversal_of", name="uq_ledger_entries_reversal_of"),
        sa.ForeignKeyConstraint(
            ["reversal_of"], [f"{SCHEMA}.ledger_entries.id"], name="fk_ledger_entries_reversal_of_ledger_entries"
        ),
        sa.CheckConstraint("account_type IN ('claim', 'patient', 'provider')", name="ck_ledger_entries_account_type"),
        sa.CheckConstraint(
            "kind IN ('charge', 'payment', 'adjustment', 'patient_responsibility', 'patient_payment', "
            "'provider_adjustment')",
            name="ck_ledger_entries_kind",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_ledger_entries_account", "ledger_entries", ["tenant_id", "account_type", "account_id"], schema=SCHEMA
    )
    op.create_index("ix_ledger_entries_claim_payment", "ledger_entries", ["claim_payment_id"], schema=SCHEMA)
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.ledger_entries_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger entries are immutable: post a reversing entry instead';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON {SCHEMA}.ledger_entries
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.ledger_entries_immutable()
        """
    )
    op.create_table(
        "patient_payments",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("request_fingerprint", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patient_payments"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_patient_payments_tenant_id_idempotency_key"),
        sa.CheckConstraint("amount_cents > 0", name="ck_patient_payments_positive"),
        schema=SCHEMA,
    )
    op.create_index("ix_patient_payments_patient", "patient_payments", ["tenant_id", "patient_id"], schema=SCHEMA)
    op.create_table(
        "payment_plans",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("total_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("installments", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_plans"),
        sa.CheckConstraint("status IN ('active', 'cancelled')", name="ck_payment_plans_status"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_payment_plans_active",
        "payment_plans",
        ["tenant_id", "patient_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_table("payment_plans", schema=SCHEMA)
    op.drop_table("patient_payments", schema=SCHEMA)
    op.execute(f"DROP TRIGGER ledger_entries_immutable ON {SCHEMA}.ledger_entries")
    op.execute(f"DROP FUNCTION {SCHEMA}.ledger_entries_immutable()")
    op.drop_table("ledger_entries", schema=SCHEMA)
    op.drop_table("claim_payments", schema=SCHEMA)
    op.drop_table("remittance_files", schema=SCHEMA)
    op.drop_column("submitted_claims", "lines", schema=SCHEMA)
    op.drop_column("submitted_claims", "patient_id", schema=SCHEMA)
