"""Review queue: alert link, re-check time, append-only history of every action.

Revision ID: 0005
Revises: 0003 (re-chained after 0004 at merge)
"""

from booking_guard.migrations import run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0005_review.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0005_review.down.sql")
