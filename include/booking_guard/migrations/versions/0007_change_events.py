"""Change events: statement triggers publish changed call/appointment ids for the event path.

Revision ID: 0007
Revises: 0005 (re-chained after 0006 at merge)
"""

from booking_guard.migrations import run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0007_change_events.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0007_change_events.down.sql")
