"""A claim payment's facts as JSON, not JSONB: the column is written once per claim payment (tens of thousands
per 835) and read back whole (`facts_from_json`); nothing queries inside it but the suspense queue's order by
`facts->>'position'`, which JSON answers as well. Postgres parsed every JSONB value into its binary form on
insert: measured on a 20,000-claim posting, with the outbox envelope's JSONB, about a fifth of the Postgres
CPU of the posting and a tenth of its WAL (bench/remittance_posting.py). JSON keeps the text as written.

Rewrites claim_payments (ALTER COLUMN ... TYPE takes an exclusive lock for the rewrite).

Revision ID: 0014
Revises: 0013
"""

from alembic import op
from sqlalchemy.dialects.postgresql import JSON, JSONB

revision = "0014"
down_revision = "0013"
SCHEMA = "remittance"


def upgrade() -> None:
    op.alter_column(
        "claim_payments", "facts", type_=JSON(), existing_type=JSONB(), schema=SCHEMA, postgresql_using="facts::json"
    )


def downgrade() -> None:
    op.alter_column(
        "claim_payments", "facts", type_=JSONB(), existing_type=JSON(), schema=SCHEMA, postgresql_using="facts::jsonb"
    )
