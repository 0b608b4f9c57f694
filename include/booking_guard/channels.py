"""Where notifications go: Slack and e-mail behind one small interface.

A channel sends one text; it raises when the text was not delivered, so the caller keeps the
alerts pending. Slack and e-mail go through the Airflow providers' hooks, imported on first use.
"""

from __future__ import annotations

from html import escape
from typing import Protocol

from booking_guard.logs import protect, register_secret
from booking_guard.settings import Settings

SLACK_TIMEOUT_SECONDS = 10


class Channel(Protocol):
    name: str

    def problem(self) -> str | None:
        """Why nothing can be sent right now (a missing connection), or None."""

    def send(self, subject: str, text: str) -> None:
        """Deliver, or raise."""


def _connection_problem(kind: str, conn_id: str) -> str | None:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:
        return f"{kind} connection {conn_id!r} is not defined (AIRFLOW_CONN_{conn_id.upper()})"
    return None


class SlackChannel:
    """An incoming webhook, through the Slack provider's hook (connection ``conn_id``)."""

    name = "slack"

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id

    def problem(self) -> str | None:
        return _connection_problem("Slack", self.conn_id)

    def send(self, subject: str, text: str) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
        from airflow.sdk import BaseHook

        # The webhook URL is the credential: the HTTP client logs it on retries.
        register_secret(BaseHook.get_connection(self.conn_id).password)
        protect()
        hook = SlackWebhookHook(slack_webhook_conn_id=self.conn_id, timeout=SLACK_TIMEOUT_SECONDS)
        hook.send(text=text)


class EmailChannel:
    """SMTP through the SMTP provider's hook (connection ``conn_id``)."""

    name = "email"

    def __init__(self, conn_id: str, to: tuple[str, ...]) -> None:
        self.conn_id = conn_id
        self.to = to

    def problem(self) -> str | None:
        return _connection_problem("SMTP", self.conn_id)

    def send(self, subject: str, text: str) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook
        from airflow.sdk import BaseHook

        register_secret(BaseHook.get_connection(self.conn_id).password)
        protect()
        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            hook.send_email_smtp(
                to=list(self.to), subject=subject, html_content=f"<p>{escape(text)}</p>"
            )


def enabled_channels(settings: Settings) -> list[Channel]:
    """The channels the settings turn on, Slack first."""
    channels: list[Channel] = []
    if settings.slack_enabled:
        channels.append(SlackChannel(settings.slack_conn_id))
    if settings.email_enabled:
        channels.append(EmailChannel(settings.smtp_conn_id, settings.email_to))
    return channels
