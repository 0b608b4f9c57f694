"""Database roles (app, monitor, corrector) and trigger audits that are set-wise and never phantom.

Revision ID: 0004
Revises: 0003
"""

from booking_guard.migrations import run_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0004_roles_audit.up.sql")


def downgrade() -> None:
    # 0003's functions and triggers come back from 0003's own files, exactly as 0003 made them.
    run_sql_file("migrations/0004_roles_audit.down.sql")
    run_sql_file("migrations/0003_triggers.down.sql")
    run_sql_file("migrations/0003_triggers.up.sql")
