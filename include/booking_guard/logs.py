"""Logging that is safe to read: secrets redacted, everything on stderr for the CLI.

Connection secrets (a Slack webhook URL is the credential itself, a password in a URL) must not
reach any log. Airflow's own masker only acts inside task processes; HTTP clients log request
URLs on retries anywhere. ``protect()`` installs one redaction step on both logging paths: the
standard library's handlers and structlog's processor chain (which Airflow 3 logs through).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

# Credentials by shape: Slack webhook paths, passwords in URLs, bearer tokens.
_PATTERNS = (
    (re.compile(r"(hooks\.slack\.com/services/|/services/)[^\s'\"<>]+"), r"\1***"),
    (re.compile(r"(\w+://[^/\s:@]+:)[^@\s/]+(@)"), r"\1***\2"),
    (re.compile(r"(?i)(bearer\s+)[\w.\-~+/]+=*"), r"\1***"),
)
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears from now on."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter: the formatted message, redacted, replaces the record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def protect() -> None:
    """Install redaction on every current handler and on structlog's chain (idempotent)."""
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
    if "structlog" in sys.modules:
        import structlog

        processors = list(structlog.get_config()["processors"])
        if _redact_event not in processors and processors:
            # Before the renderer, after the message was formatted.
            structlog.configure(processors=[*processors[:-1], _redact_event, processors[-1]])


def to_stderr(level: int = logging.WARNING) -> None:
    """The CLI's logging: stderr only, so stdout carries nothing but a command's output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("booking-guard: %(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
