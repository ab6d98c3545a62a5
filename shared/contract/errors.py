"""Domain errors with stable codes, mapped once to the reply format of DESIGN §3.

Every refusal the platform gives is one of these; the code is part of the public contract."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error that is answered to the sender instead of crashing."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(DomainError):
    """The input does not have the shape or values the contract requires."""

    code = "validation_failed"


class MalformedMessage(ValidationFailed):
    """The bytes are not a JSON CloudEvent at all."""

    code = "malformed"


class PayloadTooLarge(ValidationFailed):
    code = "payload_too_large"


class ReplyTooLarge(ValidationFailed):
    """The answer would not fit in one message: ask for a smaller page."""

    code = "reply_too_large"


class UnknownCommand(ValidationFailed):
    code = "unknown_command"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The input is well formed but breaks a rule given the current state."""

    code = "conflict"


class RuleViolation(Conflict):
    """A domain rule refuses the change (e.g. festival outside the campaign window)."""

    code = "rule_violation"


class Forbidden(DomainError):
    code = "forbidden"


class Unavailable(DomainError):
    """A dependency (database, broker) is unreachable; the same command may be sent again."""

    code = "unavailable"


class ConcurrentChange(DomainError):
    """Another command changed the same data at the same moment: nothing was recorded, and the
    same command (same id) may be sent again to be evaluated against the new state. Not an outage:
    the durable intake counts it as a failure, so one that keeps recurring is dead-lettered."""

    code = "concurrent_change"


# Refusals after which nothing was recorded: the same command (same id) may be sent again.
SEND_AGAIN: tuple[type[DomainError], ...] = (Unavailable, ConcurrentChange)

ERROR_CODES: tuple[str, ...] = (
    "validation_failed",
    "malformed",
    "payload_too_large",
    "reply_too_large",
    "unknown_command",
    "not_found",
    "conflict",
    "rule_violation",
    "forbidden",
    "unavailable",
    "concurrent_change",
    "internal",
)


def ok_reply(command_id: str | None, result: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "id": command_id, "result": result}


def error_reply(command_id: str | None, error: DomainError) -> dict[str, Any]:
    return {"ok": False, "id": command_id, "error": error.to_error()}


def internal_reply(command_id: str | None, exc: BaseException) -> dict[str, Any]:
    """The answer to a request that met a bug: its id, the exception's type only (the rest is logged)."""
    error = {"code": "internal", "message": f"internal error: {type(exc).__name__}", "details": []}
    return {"ok": False, "id": command_id, "error": error}
