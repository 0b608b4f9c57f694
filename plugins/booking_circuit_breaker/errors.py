"""What a protected call can raise besides the operation's own exceptions."""

from __future__ import annotations


class CircuitOpenError(Exception):
    """The breaker rejected the call without running it; ``retry_after`` says when to come back."""

    def __init__(self, circuit_key: str, retry_after: float, reason: str = "is OPEN") -> None:
        self.circuit_key = circuit_key
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"circuit {circuit_key} {reason}; retry after {self.retry_after:.1f} s")


class CircuitTimeoutError(TimeoutError):
    """The operation ran past the breaker's timeout; it counts as a failure."""

    def __init__(self, circuit_key: str, timeout: float) -> None:
        self.circuit_key = circuit_key
        self.timeout = timeout
        super().__init__(f"call through circuit {circuit_key} timed out after {timeout:g} s")


class BreakerConfigurationError(ValueError):
    """A breaker setting is malformed; the message names the setting."""
