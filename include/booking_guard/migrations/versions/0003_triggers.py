"""Database triggers: direction default, customer link, outcome/flag agreement, appointment sync.

Revision ID: 0003
Revises: 0002
"""

from booking_guard.migrations import run_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0003_triggers.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0003_triggers.down.sql")
