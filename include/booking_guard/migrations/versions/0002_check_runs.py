"""Monitor bookkeeping: check runs, per-run findings, notification throttle.

Revision ID: 0002
Revises: 0001
"""

from booking_guard.migrations import run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0002_check_runs.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0002_check_runs.down.sql")
