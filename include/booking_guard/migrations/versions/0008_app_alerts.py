"""The booking application's own alerts (rollbacks, opened circuits) through definer functions.

Revision ID: 0008
Revises: 0007
"""

from booking_guard.migrations import run_sql_file

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0008_app_alerts.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0008_app_alerts.down.sql")
