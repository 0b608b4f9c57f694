"""Daily report history: one row per (day, tenant, figure).

Revision ID: 0006
Revises: 0003
"""

from booking_guard.migrations import run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0006_report_history.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0006_report_history.down.sql")
