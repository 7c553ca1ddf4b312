"""DDL of the PHI key table and the PHI access log, frozen per version so old migrations keep meaning what
they meant."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.phi.access import append_only_sql, drop_append_only_sql


def create_phi_tables_v1(schema: str) -> None:
    op.create_table(
        "phi_keys",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kek_id", sa.Text, nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "purpose", "version", name="pk_phi_keys"),
        schema=schema,
    )
    op.create_index(
        "uq_phi_keys_one_active",
        "phi_keys",
        ["tenant_id", "purpose"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "phi_access",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("record_type", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("accessed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_phi_access"),
        schema=schema,
    )
    op.create_index(
        "ix_phi_access_tenant_id_accessed_at", "phi_access", ["tenant_id", "accessed_at", "id"], schema=schema
    )
    op.create_index(
        "ix_phi_access_tenant_id_record", "phi_access", ["tenant_id", "record_type", "record_id"], schema=schema
    )
    for statement in append_only_sql(schema):
        op.execute(statement)


def drop_phi_tables_v1(schema: str) -> None:
    for statement in drop_append_only_sql(schema):
        op.execute(statement)
    op.drop_table("phi_access", schema=schema)
    op.drop_table("phi_keys", schema=schema)
