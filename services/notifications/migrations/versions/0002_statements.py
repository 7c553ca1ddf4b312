"""Patient statements: the statement ledger built from events, statements, print batches, page payments.

Revision ID: 0002_statements
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_statements"
down_revision = "0001"
SCHEMA = "notifications"


def upgrade() -> None:
    op.create_table(
        "statement_patients",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, comment="PHI: the statement prints it. From encounter-coded's phi block."),
        sa.Column("address_lines", JSONB, comment="PHI: the mailing address the statement prints."),
        sa.Column("delivery", sa.Text, comment="email | paper | none (opted out); unset means paper."),
        sa.Column("email", sa.Text, comment="PHI: where statement notices go when delivery is email."),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patient_id", name="pk_statement_patients"),
        sa.CheckConstraint("delivery IN ('email', 'paper', 'none')", name="ck_statement_patients_delivery"),
        schema=SCHEMA,
        comment="Only what a statement prints or needs to reach the patient; never logged.",
    )
    op.create_table(
        "statement_encounters",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("encounter_id", sa.Uuid, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column(
            "expects_secondary", sa.Boolean, nullable=False, comment="A secondary payer is billed after the primary."
        ),
        sa.PrimaryKeyConstraint("tenant_id", "encounter_id", name="pk_statement_encounters"),
        schema=SCHEMA,
    )
    op.create_table(
        "statement_claims",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("encounter_id", sa.Uuid, nullable=False),
        sa.Column("claim_control_number", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("procedure_codes", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "claim_id", name="pk_statement_claims"),
        schema=SCHEMA,
    )
    op.create_index("ix_statement_claims_patient", "statement_claims", ["tenant_id", "patient_id"], schema=SCHEMA)
    op.create_table(
        "statement_adjudications",
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("claim_id", sa.Uuid, nullable=False),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.Column("patient_responsibility_cents", sa.BigInteger, nullable=False),
        sa.Column("next_responsible", sa.Text, nullable=False),
        sa.Column("paid_date", sa.Date, nullable=False),
        sa.Column("reversal_of", sa.Uuid),
        sa.PrimaryKeyConstraint("payment_id", name="pk_statement_adjudications"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_statement_adjudications_claim", "statement_adjudications", ["tenant_id", "claim_id"], schema=SCHEMA
    )
    op.create_table(
        "statement_patient_payments",
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_statement_patient_payments"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_statement_patient_payments_patient",
        "statement_patient_payments",
        ["tenant_id", "patient_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "statement_payment_plans",
        sa.Column("plan_id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("installments", JSONB, nullable=False),
        sa.Column("changed_on", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name="pk_statement_payment_plans"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_statement_payment_plans_patient", "statement_payment_plans", ["tenant_id", "patient_id"], schema=SCHEMA
    )
    op.execute(sa.schema.CreateSequence(sa.Sequence("statement_number_seq", schema=SCHEMA)))
    op.create_table(
        "print_batches",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("run_on", sa.Date, nullable=False),
        sa.Column("statement_count", sa.Integer, nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_print_batches"),
        schema=SCHEMA,
        comment="One PDF per mailing run: every paper statement of the run, each starting on a new page.",
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("statement_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("balance_cents", sa.BigInteger, nullable=False),
        sa.Column("amount_due_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("document", JSONB, nullable=False, comment="The StatementDocument every rendering comes from."),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("delivery", sa.Text, nullable=False),
        sa.Column("delivery_status", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("print_batch_id", sa.Uuid),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_statements"),
        sa.UniqueConstraint("number", name="uq_statements_number"),
        sa.UniqueConstraint("tenant_id", "patient_id", "cycle", name="uq_statements_patient_cycle"),
        sa.ForeignKeyConstraint(
            ["print_batch_id"], [f"{SCHEMA}.print_batches.id"], name="fk_statements_print_batch_id_print_batches"
        ),
        sa.CheckConstraint("delivery IN ('email', 'paper', 'none')", name="ck_statements_delivery"),
        sa.CheckConstraint(
            "delivery_status IN ('pending', 'sent', 'printed', 'opted_out', 'undeliverable')",
            name="ck_statements_status",
        ),
        schema=SCHEMA,
        comment="One statement per patient per cycle (unique): never sent twice for the same cycle.",
    )
    op.create_index("ix_statements_tenant_patient", "statements", ["tenant_id", "patient_id"], schema=SCHEMA)
    op.create_index(
        "ix_statements_pending_email",
        "statements",
        ["delivery_status"],
        schema=SCHEMA,
        postgresql_where=sa.text("delivery_status = 'pending'"),
    )
    op.create_table(
        "statement_payments",
        sa.Column(
            "payment_id", sa.Uuid, nullable=False, comment="Chosen when the page rendered: a resubmit is a no-op."
        ),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("statement_id", sa.Uuid, nullable=False),
        sa.Column("patient_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_statement_payments"),
        sa.ForeignKeyConstraint(
            ["statement_id"], [f"{SCHEMA}.statements.id"], name="fk_statement_payments_statement_id_statements"
        ),
        sa.CheckConstraint("amount_cents > 0", name="ck_statement_payments_positive"),
        schema=SCHEMA,
        comment="Payments recorded on the statement page, sent to remittance as patient-payment-submitted.",
    )


def downgrade() -> None:
    for table in (
        "statement_payments",
        "statements",
        "print_batches",
        "statement_payment_plans",
        "statement_patient_payments",
        "statement_adjudications",
        "statement_claims",
        "statement_encounters",
        "statement_patients",
    ):
        op.drop_table(table, schema=SCHEMA)
    op.execute(sa.schema.DropSequence(sa.Sequence("statement_number_seq", schema=SCHEMA)))
