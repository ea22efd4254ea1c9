"""campaigns, templates, deliveries, policy decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:39:35.201649
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_templates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('message', 'layout', 'partial')", name=op.f('ck_message_templates_kind')),
    sa.CheckConstraint("purpose IN ('marketing', 'transactional')", name=op.f('ck_message_templates_purpose')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_message_templates_name'))
    )
    op.create_table('policy_locks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_policy_locks'))
    )
    op.create_table('campaign_segments',
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('exclude', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_segments_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_campaign_segments_segment_id_segments')),
    sa.PrimaryKeyConstraint('campaign_id', 'segment_id', name=op.f('pk_campaign_segments'))
    )
    op.create_table('campaign_variants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('share', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_variants_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_variants')),
    sa.UniqueConstraint('campaign_id', 'name', name=op.f('uq_campaign_variants_campaign_id_name'))
    )
    op.create_table('campaign_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'], name=op.f('fk_campaign_messages_template_id_message_templates')),
    sa.ForeignKeyConstraint(['variant_id'], ['campaign_variants.id'], name=op.f('fk_campaign_messages_variant_id_campaign_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_messages')),
    sa.UniqueConstraint('variant_id', 'channel', name=op.f('uq_campaign_messages_variant_id_channel'))
    )
    op.create_table('campaign_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_list_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('prepared_through', sa.Integer(), nullable=False),
    sa.Column('prepared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('due', 'preparing', 'sending', 'paused', 'completed', 'cancelled', 'failed')", name=op.f('ck_campaign_runs_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_runs_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_list_id'], ['target_lists.id'], name=op.f('fk_campaign_runs_target_list_id_target_lists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_runs')),
    sa.CheckConstraint("kind IN ('scheduled', 'winner', 'test')", name=op.f('ck_campaign_runs_kind')),
    sa.UniqueConstraint('campaign_id', 'due_at', 'kind', name=op.f('uq_campaign_runs_campaign_id_due_at_kind'))
    )
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_runs_status_due', ['status', 'due_at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deferred_reason', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=128), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'sending', 'accepted', 'failed', 'cancelled')", name=op.f('ck_deliveries_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_deliveries_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_deliveries_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_deliveries_run_id_campaign_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'], name=op.f('fk_deliveries_template_id_message_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('key', name=op.f('uq_deliveries_key'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_contact_planned', ['contact_id', 'planned_at'], unique=False)
        batch_op.create_index('ix_deliveries_run_status_id', ['run_id', 'status', 'id'], unique=False)

    op.create_table('policy_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_policy_decisions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_policy_decisions_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_policy_decisions_run_id_campaign_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_decisions'))
    )
    with op.batch_alter_table('policy_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_policy_decisions_contact', ['contact_id', 'campaign_id'], unique=False)
        batch_op.create_index('ix_policy_decisions_run_reason', ['run_id', 'reason'], unique=False)

    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant', sa.String(length=16), nullable=True))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('type', sa.String(length=16), nullable=False, server_default='newsletter'))
        batch_op.add_column(sa.Column('objective', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('budget', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('schedule', sa.String(length=16), nullable=False, server_default='none'))
        batch_op.add_column(sa.Column('send_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cron', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('cron_timezone', sa.String(length=64), nullable=False, server_default='UTC'))
        batch_op.add_column(sa.Column('local_hour', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('holdout_percent', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ab_test_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ab_test_percent', sa.Float(), nullable=False, server_default='100'))
        batch_op.add_column(sa.Column('winner_metric', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('winner_variant', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
        batch_op.create_index(batch_op.f('ix_campaigns_next_run_at'), ['next_run_at'], unique=False)
        batch_op.create_check_constraint('status', "status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')")
        batch_op.create_check_constraint('type', "type IN ('acquisition', 'retention', 'cross_sell', 'up_sell', 'win_back', 'newsletter')")
        batch_op.create_check_constraint('schedule', "schedule IN ('none', 'once', 'cron', 'local_time')")



def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint('ck_campaigns_status', type_='check')
        batch_op.drop_constraint('ck_campaigns_type', type_='check')
        batch_op.drop_constraint('ck_campaigns_schedule', type_='check')
        batch_op.drop_index(batch_op.f('ix_campaigns_next_run_at'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('created_by')
        batch_op.drop_column('winner_variant')
        batch_op.drop_column('winner_metric')
        batch_op.drop_column('ab_test_percent')
        batch_op.drop_column('ab_test_hours')
        batch_op.drop_column('holdout_percent')
        batch_op.drop_column('next_run_at')
        batch_op.drop_column('local_hour')
        batch_op.drop_column('cron_timezone')
        batch_op.drop_column('cron')
        batch_op.drop_column('send_at')
        batch_op.drop_column('schedule')
        batch_op.drop_column('budget')
        batch_op.drop_column('objective')
        batch_op.drop_column('type')

    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.drop_column('variant')

    with op.batch_alter_table('policy_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_decisions_run_reason')
        batch_op.drop_index('ix_policy_decisions_contact')

    op.drop_table('policy_decisions')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_run_status_id')
        batch_op.drop_index('ix_deliveries_contact_planned')

    op.drop_table('deliveries')
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_runs_status_due')

    op.drop_table('campaign_runs')
    op.drop_table('campaign_messages')
    op.drop_table('campaign_variants')
    op.drop_table('campaign_segments')
    op.drop_table('policy_locks')
    op.drop_table('message_templates')
