"""Prevention tables: circuit_breaker_states, data_consistency_alerts, manual_review_queue.

Revision ID: 0001
Revises:
"""

from booking_guard.migrations import run_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0001_prevention_tables.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0001_prevention_tables.down.sql")
