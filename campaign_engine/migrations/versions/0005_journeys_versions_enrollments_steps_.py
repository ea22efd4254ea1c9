"""journeys, versions, enrollments, steps, webhook calls

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:39:04.532237
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('journeys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('draft', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('current_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published', 'paused', 'archived')", name=op.f('ck_journeys_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_journeys_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journeys')),
    sa.UniqueConstraint('name', name=op.f('uq_journeys_name'))
    )
    op.create_table('journey_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('journey_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=320), nullable=True),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_versions_journey_id_journeys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_journey_versions_run_id_campaign_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_versions')),
    sa.UniqueConstraint('journey_id', 'version', name=op.f('uq_journey_versions_journey_id_version'))
    )
    op.create_table('journey_enrollments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('journey_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_number', sa.Integer(), nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('node_id', sa.String(length=16), nullable=False),
    sa.Column('state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'waiting', 'completed', 'exited', 'converted')", name=op.f('ck_journey_enrollments_status')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_journey_enrollments_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_enrollments_journey_id_journeys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['journey_versions.id'], name=op.f('fk_journey_enrollments_version_id_journey_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_enrollments')),
    sa.UniqueConstraint('journey_id', 'contact_id', 'entry_number', name=op.f('uq_journey_enrollments_journey_id_contact_id_entry_number'))
    )
    with op.batch_alter_table('journey_enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_journey_enrollments_contact', ['contact_id', 'journey_id'], unique=False)
        batch_op.create_index('ix_journey_enrollments_due', ['due_at', 'status'], unique=False)
        batch_op.create_index('ix_journey_enrollments_journey_node', ['journey_id', 'node_id', 'status'], unique=False)

    op.create_table('journey_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('journey_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node_id', sa.String(length=16), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['journey_enrollments.id'], name=op.f('fk_journey_steps_enrollment_id_journey_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_steps_journey_id_journeys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['journey_versions.id'], name=op.f('fk_journey_steps_version_id_journey_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_steps')),
    sa.UniqueConstraint('enrollment_id', 'node_id', 'entered_at', name=op.f('uq_journey_steps_enrollment_id_node_id_entered_at'))
    )
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.create_index('ix_journey_steps_journey_node', ['journey_id', 'node_id'], unique=False)

    op.create_table('journey_webhook_calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('node_id', sa.String(length=16), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('save_response_to', sa.String(length=120), nullable=True),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f('ck_journey_webhook_calls_status')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_journey_webhook_calls_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrollment_id'], ['journey_enrollments.id'], name=op.f('fk_journey_webhook_calls_enrollment_id_journey_enrollments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_webhook_calls')),
    sa.UniqueConstraint('enrollment_id', 'node_id', name=op.f('uq_journey_webhook_calls_enrollment_id_node_id'))
    )
    with op.batch_alter_table('journey_webhook_calls', schema=None) as batch_op:
        batch_op.create_index('ix_journey_webhook_calls_due', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaign_runs_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_campaign_runs_kind'), "kind IN ('scheduled', 'winner', 'test', 'journey')"
        )


def downgrade() -> None:
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaign_runs_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_campaign_runs_kind'), "kind IN ('scheduled', 'winner', 'test')"
        )
    with op.batch_alter_table('journey_webhook_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_webhook_calls_due')

    op.drop_table('journey_webhook_calls')
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_steps_journey_node')

    op.drop_table('journey_steps')
    with op.batch_alter_table('journey_enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_enrollments_journey_node')
        batch_op.drop_index('ix_journey_enrollments_due')
        batch_op.drop_index('ix_journey_enrollments_contact')

    op.drop_table('journey_enrollments')
    op.drop_table('journey_versions')
    op.drop_table('journeys')
