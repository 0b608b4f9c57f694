"""Severities of findings and alerts, most severe first; the rank orders them everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe: sorts messages and picks a group's severity."""
        return list(Severity).index(self)

    def and_above(self) -> list[Severity]:
        """This severity and every more severe one (what a minimum-severity setting admits)."""
        return [s for s in Severity if s.rank <= self.rank]

    @staticmethod
    def worst(severities: Iterable[Severity]) -> Severity | None:
        """The most severe of ``severities``; None when there are none."""
        return min(severities, key=lambda s: s.rank, default=None)
