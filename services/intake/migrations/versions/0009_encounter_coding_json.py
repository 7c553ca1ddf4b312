"""An encounter's coding kept as `json` (its text, checked), not `jsonb`: nothing queries inside it, it is read
whole, and converting each 1-2 KB document to jsonb was more than half of Postgres's work on every inserted
encounter (38 -> 16 us CPU per row in a batch of 1,000, measured on a copy of the table).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
SCHEMA = "intake"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.encounters ALTER COLUMN coding TYPE json USING coding::json")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.encounters ALTER COLUMN coding TYPE jsonb USING coding::jsonb")
