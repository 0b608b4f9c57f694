"""Errors that front doors turn into one clear line and a non-zero exit."""


class BookingGuardError(Exception):
    """An expected failure whose message is fit to show a user as it is."""


class ConfigurationError(BookingGuardError):
    """A setting is missing or malformed; the message names the setting."""


class MigrationError(BookingGuardError):
    """A migration cannot run (missing app tables, unknown target, lock held)."""
