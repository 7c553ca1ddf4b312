"""PHI at rest in claims: the members of a claim's document holding PHI (the encounter's phi block, tax ids)
sealed in `claims.phi`; the text of stored 837s and 276s sealed in `submissions.phi` and
`status_requests.phi` (their `x12` NULL once sealed).

Existing rows stay readable in plaintext until `claimflow phi encrypt-existing --service claims` seals them
(a migration has no key).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
SCHEMA = "claims"
FILES = ("submissions", "status_requests")


def upgrade() -> None:
    op.add_column(
        "claims",
        sa.Column(
            "phi", sa.LargeBinary, nullable=True, comment="The document's members holding PHI, sealed (shared.phi)."
        ),
        schema=SCHEMA,
    )
    op.alter_column(
        "claims",
        "document",
        comment="The encounter-coded payload as priced and fixed, without its PHI (the phi block, tax ids): those "
        "members are sealed in `phi`. Rows stored before 0012 hold them here in plaintext.",
        existing_type=sa.dialects.postgresql.JSONB(),
        schema=SCHEMA,
    )
    for table in FILES:
        op.add_column(
            table,
            sa.Column(
                "phi",
                sa.LargeBinary,
                nullable=True,
                comment="The file's text (names, birth dates, member ids), sealed.",
            ),
            schema=SCHEMA,
        )
        op.alter_column(
            table,
            "x12",
            nullable=True,
            existing_type=sa.Text(),
            comment="The file's text on rows stored before 0012; NULL once sealed in `phi`.",
            schema=SCHEMA,
        )


def downgrade() -> None:
    for table in FILES:
        op.alter_column(table, "x12", nullable=False, existing_type=sa.Text(), comment=None, schema=SCHEMA)
        op.drop_column(table, "phi", schema=SCHEMA)
    op.alter_column(
        "claims",
        "document",
        comment="The encounter-coded payload as priced and fixed; holds PHI.",
        existing_type=sa.dialects.postgresql.JSONB(),
        schema=SCHEMA,
    )
    op.drop_column("claims", "phi", schema=SCHEMA)
