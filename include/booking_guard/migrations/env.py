"""Alembic environment: one transaction per deploy, under an advisory lock."""

from alembic import context

from booking_guard.migrations import LOCK_KEY, LOCK_TIMEOUT, VERSION_TABLE

config = context.config
attributes = config.attributes


def _locked_run() -> None:
    # Taken inside the transaction before Alembic reads the version table: a second deploy
    # waits, then finds the work done.
    context.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    context.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
    context.run_migrations()
    if attributes.get("drop_version_table"):
        context.execute(f"DROP TABLE IF EXISTS {VERSION_TABLE}")


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        version_table=VERSION_TABLE,
        transactional_ddl=True,
        literal_binds=True,
    )
else:
    context.configure(
        connection=attributes["connection"],
        version_table=VERSION_TABLE,
        transactional_ddl=True,
        transaction_per_migration=False,
        on_version_apply=attributes["on_version_apply"],
    )

with context.begin_transaction():
    _locked_run()
