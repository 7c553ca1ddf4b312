"""Money integrity: probable duplicate payments held for review, refund work items for credit balances,
one currency per known patient account, payer names and payment methods on claim payments, the
encounter of each submitted claim (COB netting), suspense paging by arrival.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
SCHEMA = "remittance"


def upgrade() -> None:
    op.add_column(
        "submitted_claims",
        sa.Column(
            "encounter_id",
            sa.Uuid,
            nullable=True,
            comment="The encounter billed: a secondary claim shares it with its primary (COB netting).",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_submitted_claims_encounter", "submitted_claims", ["tenant_id", "encounter_id"], schema=SCHEMA)
    for column in (
        sa.Column("payer_name", sa.Text, nullable=True, comment="N1*PR of the 835: who paid, as a person reads it."),
        sa.Column("payment_method", sa.Text, nullable=True, comment="BPR04: CHK check, ACH/FWT/BOP EFT, NON none."),
        sa.Column("duplicate_of", sa.Uuid, nullable=True, comment="A held payment: the posted payment it repeats."),
        sa.Column("review_reason", sa.Text, nullable=True, comment="Why a person released, rejected or forced it."),
        sa.Column("reviewed_by", sa.Text, nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("claim_payments", column, schema=SCHEMA)
    # 0002 named it before the naming convention prefixed it again
    op.drop_constraint(op.f("ck_claim_payments_ck_claim_payments_state"), "claim_payments", schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_claim_payments_state"),
        "claim_payments",
        "state IN ('posted', 'suspense', 'held', 'rejected')",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_claim_payments_held"), "claim_payments", "state <> 'held' OR duplicate_of IS NOT NULL", schema=SCHEMA
    )
    op.drop_index("ix_claim_payments_suspense", table_name="claim_payments", schema=SCHEMA)
    op.create_index(
        "ix_claim_payments_suspense",
        "claim_payments",
        ["tenant_id", "received_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'suspense'"),
    )
    op.create_index(
        "ix_claim_payments_held",
        "claim_payments",
        ["tenant_id", "received_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'held'"),
    )
    op.create_table(
        "patient_accounts",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patient_id", name="pk_patient_accounts"),
        schema=SCHEMA,
        comment="The patients remittance knows (from claim-submitted), each account kept in one currency.",
    )
    # the patients already known: from their submitted claims (earliest first), then from their payments
    op.execute(
        f"INSERT INTO {SCHEMA}.patient_accounts (tenant_id, patient_id, currency) "  # noqa: S608 - constant
        f"SELECT DISTINCT ON (tenant_id, patient_id) tenant_id, patient_id, currency FROM {SCHEMA}.submitted_claims "
        "WHERE patient_id IS NOT NULL ORDER BY tenant_id, patient_id, submitted_at "
        "ON CONFLICT DO NOTHING"
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.patient_accounts (tenant_id, patient_id, currency) "  # noqa: S608 - constant
        f"SELECT DISTINCT ON (tenant_id, patient_id) tenant_id, patient_id, currency FROM {SCHEMA}.patient_payments "
        "ORDER BY tenant_id, patient_id, created_at ON CONFLICT DO NOTHING"
    )
    op.create_table(
        "refund_items",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("credit_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("resolution_reason", sa.Text, nullable=True),
        sa.Column("resolved_by", sa.Text, nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'refunded', 'dismissed', 'cleared')", name=op.f("ck_refund_items_status")
        ),
        sa.CheckConstraint("credit_cents > 0", name=op.f("ck_refund_items_positive")),
        sa.PrimaryKeyConstraint("id", name="pk_refund_items"),
        schema=SCHEMA,
        comment="Claims paid beyond what was owed (a credit balance): a refund work item until a person resolves it.",
    )
    op.create_index(
        "uq_refund_items_open",
        "refund_items",
        ["tenant_id", "claim_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_refund_items_tenant", "refund_items", ["tenant_id", "status", "opened_at", "id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("refund_items", schema=SCHEMA)
    op.drop_table("patient_accounts", schema=SCHEMA)
    op.drop_index("ix_claim_payments_held", table_name="claim_payments", schema=SCHEMA)
    op.drop_index("ix_claim_payments_suspense", table_name="claim_payments", schema=SCHEMA)
    op.create_index(
        "ix_claim_payments_suspense",
        "claim_payments",
        ["tenant_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'suspense'"),
    )
    op.drop_constraint(op.f("ck_claim_payments_held"), "claim_payments", schema=SCHEMA)
    op.drop_constraint(op.f("ck_claim_payments_state"), "claim_payments", schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_claim_payments_ck_claim_payments_state"),
        "claim_payments",
        "state IN ('posted', 'suspense')",
        schema=SCHEMA,
    )
    for column in ("reviewed_at", "reviewed_by", "review_reason", "duplicate_of", "payment_method", "payer_name"):
        op.drop_column("claim_payments", column, schema=SCHEMA)
    op.drop_index("ix_submitted_claims_encounter", table_name="submitted_claims", schema=SCHEMA)
    op.drop_column("submitted_claims", "encounter_id", schema=SCHEMA)
