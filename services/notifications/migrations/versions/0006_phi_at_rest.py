"""PHI at rest: statement contacts (name, mailing address, email), statement documents and their text sealed in
new columns; statement and print-batch PDFs sealed in place (same bytea column).

Existing rows stay readable in plaintext until `claimflow phi encrypt-existing --service notifications` seals
them (a migration has no key).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
SCHEMA = "notifications"
SEALED_PDF = "Sealed (shared.phi); plaintext (%PDF) before 0006."
PLAINTEXT = {
    ("statement_patients", "name"): (
        sa.Text(),
        "PHI in plaintext: only rows stored before 0006 (until encrypt-existing).",
        "PHI: the statement prints it. From encounter-coded's phi block.",
    ),
    ("statement_patients", "address_lines"): (
        JSONB(),
        "PHI in plaintext: only rows stored before 0006.",
        "PHI: the mailing address the statement prints.",
    ),
    ("statement_patients", "email"): (
        sa.Text(),
        "PHI in plaintext: only rows stored before 0006.",
        "PHI: where statement notices go when delivery is email.",
    ),
    ("print_batches", "pdf"): (sa.LargeBinary(), SEALED_PDF, None),
    ("statements", "pdf"): (sa.LargeBinary(), SEALED_PDF, None),
}


def upgrade() -> None:
    op.add_column(
        "statement_patients",
        sa.Column(
            "mailing_phi",
            sa.LargeBinary,
            nullable=True,
            comment="Sealed (shared.phi): the name and mailing address the statement prints, from encounter-coded.",
        ),
        schema=SCHEMA,
    )
    op.add_column(
        "statement_patients",
        sa.Column(
            "email_phi",
            sa.LargeBinary,
            nullable=True,
            comment="Sealed (shared.phi): where statement notices go by email.",
        ),
        schema=SCHEMA,
    )
    op.add_column(
        "statements",
        sa.Column(
            "phi",
            sa.LargeBinary,
            nullable=True,
            comment="Sealed (shared.phi): the StatementDocument every rendering comes from and its text rendering.",
        ),
        schema=SCHEMA,
    )
    op.alter_column(
        "statements",
        "document",
        nullable=True,
        existing_type=JSONB(),
        comment="Plaintext StatementDocument: only rows stored before 0006.",
        schema=SCHEMA,
    )
    op.alter_column(
        "statements",
        "text",
        nullable=True,
        existing_type=sa.Text(),
        comment="Plaintext rendering: only rows stored before 0006.",
        schema=SCHEMA,
    )
    for (table, column), (type_, comment, _) in PLAINTEXT.items():
        op.alter_column(table, column, existing_type=type_, comment=comment, schema=SCHEMA)


def downgrade() -> None:
    """Only while every row is still in plaintext (run nothing sealed through a downgrade)."""
    for (table, column), (type_, _, comment) in PLAINTEXT.items():
        op.alter_column(table, column, existing_type=type_, comment=comment, schema=SCHEMA)
    op.alter_column("statements", "text", nullable=False, existing_type=sa.Text(), comment=None, schema=SCHEMA)
    op.alter_column(
        "statements",
        "document",
        nullable=False,
        existing_type=JSONB(),
        comment="The StatementDocument every rendering comes from.",
        schema=SCHEMA,
    )
    op.drop_column("statements", "phi", schema=SCHEMA)
    op.drop_column("statement_patients", "email_phi", schema=SCHEMA)
    op.drop_column("statement_patients", "mailing_phi", schema=SCHEMA)
