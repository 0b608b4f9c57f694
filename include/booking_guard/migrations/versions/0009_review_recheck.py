"""Review queue pages with room for the re-check's stamp (a HOT update).

Revision ID: 0009
Revises: 0008
"""

from booking_guard.migrations import run_sql_file

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("migrations/0009_review_recheck.up.sql")


def downgrade() -> None:
    run_sql_file("migrations/0009_review_recheck.down.sql")
