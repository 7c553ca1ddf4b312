"""PHI at rest in encounters as received: the members of `coding` holding PHI (the MRN, the ambulance's
pick-up and the patient's weight) sealed in `encounters.phi`; the rest of `coding` stays plain JSONB.

Existing rows stay readable in plaintext until `claimflow phi encrypt-existing --service intake` seals them.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
SCHEMA = "intake"


def upgrade() -> None:
    op.add_column("encounters", sa.Column("phi", sa.LargeBinary, nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("encounters", "phi", schema=SCHEMA)
