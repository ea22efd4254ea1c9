"""association rule sets, rules, item frequencies

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:15:23.137808
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rule_sets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('per', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('baskets', sa.Integer(), nullable=False),
    sa.Column('product_rules', sa.Integer(), nullable=False),
    sa.Column('category_rules', sa.Integer(), nullable=False),
    sa.Column('mined_seconds', sa.Float(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("per IN ('order', 'customer')", name=op.f('ck_rule_sets_per')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_sets'))
    )
    with op.batch_alter_table('rule_sets', schema=None) as batch_op:
        batch_op.create_index('uq_rule_sets_one_active', ['active'], unique=True, postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    op.create_table('association_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('antecedents', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('consequents', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('items', sa.String(length=2000), nullable=False),
    sa.Column('support', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('lift', sa.Float(), nullable=False),
    sa.Column('leverage', sa.Float(), nullable=False),
    sa.Column('conviction', sa.Float(), nullable=True),
    sa.CheckConstraint("level IN ('product', 'category')", name=op.f('ck_association_rules_level')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['rule_sets.id'], name=op.f('fk_association_rules_rule_set_id_rule_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_association_rules'))
    )
    with op.batch_alter_table('association_rules', schema=None) as batch_op:
        batch_op.create_index('ix_association_rules_set_level_lift', ['rule_set_id', 'level', 'lift'], unique=False)

    op.create_table('rule_set_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('baskets', sa.Integer(), nullable=False),
    sa.Column('support', sa.Float(), nullable=False),
    sa.CheckConstraint("level IN ('product', 'category')", name=op.f('ck_rule_set_items_level')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['rule_sets.id'], name=op.f('fk_rule_set_items_rule_set_id_rule_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_set_items'))
    )
    with op.batch_alter_table('rule_set_items', schema=None) as batch_op:
        batch_op.create_index('ix_rule_set_items_set_level', ['rule_set_id', 'level'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rule_set_items', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_set_items_set_level')

    op.drop_table('rule_set_items')
    with op.batch_alter_table('association_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_association_rules_set_level_lift')

    op.drop_table('association_rules')
    with op.batch_alter_table('rule_sets', schema=None) as batch_op:
        batch_op.drop_index('uq_rule_sets_one_active', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    op.drop_table('rule_sets')
