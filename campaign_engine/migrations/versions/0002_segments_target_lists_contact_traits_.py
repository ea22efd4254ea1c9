"""segments, target lists, contact traits and job runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:12:48.848139
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )
    op.create_table('segments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_count', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name'))
    )
    op.create_table('contact_traits',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_order_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_order_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('orders_total', sa.Integer(), nullable=False),
    sa.Column('revenue_total', sa.Float(), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.Float(), nullable=False),
    sa.Column('avg_order_value', sa.Float(), nullable=False),
    sa.Column('r_score', sa.SmallInteger(), nullable=False),
    sa.Column('f_score', sa.SmallInteger(), nullable=False),
    sa.Column('m_score', sa.SmallInteger(), nullable=False),
    sa.Column('rfm_cell', sa.String(length=3), nullable=False),
    sa.Column('rfm_group', sa.String(length=24), nullable=False),
    sa.Column('expected_purchases', sa.Float(), nullable=True),
    sa.Column('p_alive', sa.Float(), nullable=True),
    sa.Column('clv', sa.Float(), nullable=True),
    sa.Column('churn_risk', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_traits_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_contact_traits'))
    )
    with op.batch_alter_table('contact_traits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_traits_clv'), ['clv'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_traits_rfm_cell'), ['rfm_cell'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_traits_rfm_group'), ['rfm_group'], unique=False)

    op.create_table('target_lists',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('sort_by', sa.String(length=64), nullable=True),
    sa.Column('sort_descending', sa.Boolean(), nullable=False),
    sa.Column('limit', sa.Integer(), nullable=True),
    sa.Column('dedupe_by', sa.String(length=16), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('snapshot', 'static')", name=op.f('ck_target_lists_kind')),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_target_lists_segment_id_segments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_lists'))
    )
    op.create_table('target_list_members',
    sa.Column('list_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_target_list_members_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['target_lists.id'], name=op.f('fk_target_list_members_list_id_target_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('list_id', 'contact_id', name=op.f('pk_target_list_members'))
    )
    with op.batch_alter_table('target_list_members', schema=None) as batch_op:
        batch_op.create_index('ix_target_list_members_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_target_list_members_list_position', ['list_id', 'position'], unique=False)



    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_product_id')
        batch_op.create_index('ix_order_lines_product_order', ['product_id', 'order_id'], unique=False)
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_channel_purpose_state')
        batch_op.create_index(
            'ix_consents_channel_purpose_state_contact',
            ['channel', 'purpose', 'state', 'contact_id'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_channel_purpose_state_contact')
        batch_op.create_index(
            'ix_consents_channel_purpose_state', ['channel', 'purpose', 'state'], unique=False
        )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_product_order')
        batch_op.create_index('ix_order_lines_product_id', ['product_id'], unique=False)

    with op.batch_alter_table('target_list_members', schema=None) as batch_op:
        batch_op.drop_index('ix_target_list_members_list_position')
        batch_op.drop_index('ix_target_list_members_contact')

    op.drop_table('target_list_members')
    op.drop_table('target_lists')
    with op.batch_alter_table('contact_traits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_traits_rfm_group'))
        batch_op.drop_index(batch_op.f('ix_contact_traits_rfm_cell'))
        batch_op.drop_index(batch_op.f('ix_contact_traits_clv'))

    op.drop_table('contact_traits')
    op.drop_table('segments')
    op.drop_table('job_runs')
