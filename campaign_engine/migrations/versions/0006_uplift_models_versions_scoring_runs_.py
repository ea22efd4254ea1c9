"""uplift models, versions, scoring runs, scores; campaign targeting

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:12:42.650695
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('uplift_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('learner', sa.String(length=16), nullable=False),
    sa.Column('training', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('retrain_days', sa.Integer(), nullable=True),
    sa.Column('auto_promote', sa.Boolean(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('conversion', 'revenue', 'margin')", name=op.f('ck_uplift_models_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uplift_models')),
    sa.UniqueConstraint('name', name=op.f('uq_uplift_models_name'))
    )
    op.create_table('uplift_model_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('learner', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('campaign_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('features', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('library_versions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('artifact', sa.LargeBinary(), nullable=False),
    sa.Column('artifact_sha256', sa.String(length=64), nullable=False),
    sa.Column('trained_by', sa.String(length=320), nullable=True),
    sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('candidate', 'promoted', 'retired')", name=op.f('ck_uplift_model_versions_status')),
    sa.ForeignKeyConstraint(['model_id'], ['uplift_models.id'], name=op.f('fk_uplift_model_versions_model_id_uplift_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uplift_model_versions')),
    sa.UniqueConstraint('model_id', 'version', name=op.f('uq_uplift_model_versions_model_id_version'))
    )
    with op.batch_alter_table('uplift_model_versions', schema=None) as batch_op:
        batch_op.create_index('uq_uplift_model_versions_promoted', ['model_id'], unique=True, postgresql_where=sa.text("status = 'promoted'"), sqlite_where=sa.text("status = 'promoted'"))

    op.create_table('uplift_scores',
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('percentile', sa.Float(), nullable=True),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_uplift_scores_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['uplift_models.id'], name=op.f('fk_uplift_scores_model_id_uplift_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['uplift_model_versions.id'], name=op.f('fk_uplift_scores_version_id_uplift_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'contact_id', name=op.f('pk_uplift_scores'))
    )
    with op.batch_alter_table('uplift_scores', schema=None) as batch_op:
        batch_op.create_index('ix_uplift_scores_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_uplift_scores_model_score', ['model_id', 'score'], unique=False)

    op.create_table('uplift_scoring_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('batches_done', sa.Integer(), nullable=False),
    sa.Column('scored', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('running', 'ranking', 'done', 'failed')", name=op.f('ck_uplift_scoring_runs_status')),
    sa.ForeignKeyConstraint(['model_id'], ['uplift_models.id'], name=op.f('fk_uplift_scoring_runs_model_id_uplift_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['uplift_model_versions.id'], name=op.f('fk_uplift_scoring_runs_version_id_uplift_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uplift_scoring_runs'))
    )
    with op.batch_alter_table('uplift_scoring_runs', schema=None) as batch_op:
        batch_op.create_index('uq_uplift_scoring_runs_active', ['version_id'], unique=True, postgresql_where=sa.text("status IN ('running', 'ranking')"), sqlite_where=sa.text("status IN ('running', 'ranking')"))

    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('predicted_uplift', sa.Float(), nullable=True))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('targeting', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('targeting')

    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.drop_column('predicted_uplift')

    with op.batch_alter_table('uplift_scoring_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_uplift_scoring_runs_active', postgresql_where=sa.text("status IN ('running', 'ranking')"), sqlite_where=sa.text("status IN ('running', 'ranking')"))

    op.drop_table('uplift_scoring_runs')
    with op.batch_alter_table('uplift_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_uplift_scores_model_score')
        batch_op.drop_index('ix_uplift_scores_contact')

    op.drop_table('uplift_scores')
    with op.batch_alter_table('uplift_model_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_uplift_model_versions_promoted', postgresql_where=sa.text("status = 'promoted'"), sqlite_where=sa.text("status = 'promoted'"))

    op.drop_table('uplift_model_versions')
    op.drop_table('uplift_models')
