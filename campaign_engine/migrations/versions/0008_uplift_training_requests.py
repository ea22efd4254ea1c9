"""uplift models: training requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('uplift_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('train_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('train_requested_by', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('uplift_models', schema=None) as batch_op:
        batch_op.drop_column('train_requested_by')
        batch_op.drop_column('train_requested_at')
