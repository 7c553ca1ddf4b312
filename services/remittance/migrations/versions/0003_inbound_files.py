"""835 files collected from the clearinghouse inbound box, posted or rejected.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
SCHEMA = "remittance"


def upgrade() -> None:
    op.create_table(
        "inbound_files",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("byte_count", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=True, comment="Null when the file could not be given to a tenant."),
        sa.Column("remittance_id", sa.Uuid, nullable=True),
        sa.Column("rejection", JSONB, nullable=True, comment="Reason, segment id and position; never file content."),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_files"),
        sa.ForeignKeyConstraint(
            ["remittance_id"], [f"{SCHEMA}.remittance_files.id"], name="fk_inbound_files_remittance_id_remittance_files"
        ),
        sa.UniqueConstraint("file_name", "content_sha256", name="uq_inbound_files_file_name_content_sha256"),
        sa.CheckConstraint("state IN ('posted', 'rejected')", name="ck_inbound_files_state"),
        sa.CheckConstraint("(state = 'posted') = (remittance_id IS NOT NULL)", name="ck_inbound_files_posted"),
        schema=SCHEMA,
        comment="835 files collected from the clearinghouse inbound box: posted, or rejected with the reason. "
        "One row per file name and content, so a file read again after a crash records nothing new.",
    )
    op.create_index("ix_inbound_files_tenant", "inbound_files", ["tenant_id", "processed_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_inbound_files_tenant", table_name="inbound_files", schema=SCHEMA)
    op.drop_table("inbound_files", schema=SCHEMA)
