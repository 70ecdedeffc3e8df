"""Campaigns, their members (treatment or control) and their contacts.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("goal", sa.String(32), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("control_share", sa.Float, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_detail", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("product", sa.Text, nullable=True),
        sa.Column("dataset_id", sa.String(64), nullable=True),
        sa.Column("dataset_name", sa.Text, nullable=False),
        sa.Column("cost_per_contact", sa.Float, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("link", sa.Text, nullable=False),
    )
    op.create_index("ix_campaigns_created", "campaigns", ["created"])
    op.create_table(
        "campaign_members",
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id", ondelete="CASCADE",
                                                              name="fk_campaign_members_campaign"),
                  primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("stratum", sa.Text, nullable=True),
        sa.Column("group", sa.String(16), nullable=False),
        sa.CheckConstraint("\"group\" IN ('treatment', 'control')", name="ck_campaign_members_group"),
    )
    op.create_table(
        "campaign_contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id", ondelete="CASCADE",
                                                              name="fk_campaign_contacts_campaign"),
                  nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("contacted_at", sa.DateTime, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("row_key", sa.String(64), nullable=False),
        sa.CheckConstraint("origin IN ('app', 'call_log')", name="ck_campaign_contacts_origin"),
        sa.UniqueConstraint("campaign_id", "origin", "row_key", name="uq_campaign_contacts_row"),
    )
    op.create_index("ix_campaign_contacts_customer", "campaign_contacts", ["campaign_id", "customer_id"])


def downgrade() -> None:
    op.drop_table("campaign_contacts")
    op.drop_table("campaign_members")
    op.drop_table("campaigns")
