"""tracking events, daily roll-ups, order attributions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:56:31.138937
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tracking_cursors',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_tracking_cursors'))
    )
    op.create_table('tracking_daily',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('machine', sa.Boolean(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('delivered', 'bounce', 'dropped', 'deferred', 'spam_report', 'open', 'click', 'unsubscribe', 'failed')", name=op.f('ck_tracking_daily_kind')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_tracking_daily_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_daily')),
    sa.UniqueConstraint('campaign_id', 'day', 'variant', 'channel', 'kind', 'machine', name=op.f('uq_tracking_daily_campaign_id_day_variant_channel_kind_machine'))
    )
    op.create_table('order_attributions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model', sa.String(length=16), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('touch', sa.String(length=16), nullable=False),
    sa.Column('touched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('margin', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.CheckConstraint("model IN ('last_touch', 'first_touch', 'linear')", name=op.f('ck_order_attributions_model')),
    sa.CheckConstraint("touch IN ('code', 'click', 'open', 'delivery')", name=op.f('ck_order_attributions_touch')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_order_attributions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_order_attributions_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_order_attributions_delivery_id_deliveries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_attributions_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_attributions')),
    sa.UniqueConstraint('order_id', 'model', 'campaign_id', name=op.f('uq_order_attributions_order_id_model_campaign_id'))
    )
    with op.batch_alter_table('order_attributions', schema=None) as batch_op:
        batch_op.create_index('ix_order_attributions_campaign_model', ['campaign_id', 'model', 'ordered_at'], unique=False)

    op.create_table('tracking_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('machine', sa.Boolean(), nullable=False),
    sa.Column('machine_reason', sa.String(length=32), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('delivered', 'bounce', 'dropped', 'deferred', 'spam_report', 'open', 'click', 'unsubscribe', 'failed')", name=op.f('ck_tracking_events_kind')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_tracking_events_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_tracking_events_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_tracking_events_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_tracking_events_dedupe_key'))
    )
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.create_index('ix_tracking_events_campaign_kind_occurred', ['campaign_id', 'kind', 'occurred_at'], unique=False)
        batch_op.create_index('ix_tracking_events_contact_kind_occurred', ['contact_id', 'kind', 'occurred_at'], unique=False)
        batch_op.create_index('ix_tracking_events_delivery', ['delivery_id'], unique=False)
        batch_op.create_index('ix_tracking_events_occurred', ['occurred_at'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attribution_click_days', sa.Integer(), server_default='7', nullable=False))
        batch_op.add_column(sa.Column('attribution_open_days', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('attribution_delivery_days', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('outcome_days', sa.Integer(), server_default='7', nullable=False))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('complained_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_deliveries_campaign_contact', ['campaign_id', 'contact_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_campaign_contact')
        batch_op.drop_column('complained_at')
        batch_op.drop_column('unsubscribed_at')
        batch_op.drop_column('clicked_at')
        batch_op.drop_column('opened_at')
        batch_op.drop_column('bounced_at')
        batch_op.drop_column('delivered_at')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('outcome_days')
        batch_op.drop_column('attribution_delivery_days')
        batch_op.drop_column('attribution_open_days')
        batch_op.drop_column('attribution_click_days')

    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index('ix_tracking_events_occurred')
        batch_op.drop_index('ix_tracking_events_delivery')
        batch_op.drop_index('ix_tracking_events_contact_kind_occurred')
        batch_op.drop_index('ix_tracking_events_campaign_kind_occurred')

    op.drop_table('tracking_events')
    with op.batch_alter_table('order_attributions', schema=None) as batch_op:
        batch_op.drop_index('ix_order_attributions_campaign_model')

    op.drop_table('order_attributions')
    op.drop_table('tracking_daily')
    op.drop_table('tracking_cursors')
