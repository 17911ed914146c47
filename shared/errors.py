"""Errors the services raise, and their one mapping to HTTP problem responses."""
from __future__ import annotations

from typing import Any, Iterable


class CaseError(Exception):
    """Base of every error a client can cause; each maps to one HTTP status."""

    status = 400
    title = "Bad request"
    problem_type = "about:blank"

    def problem(self) -> dict[str, Any]:
        return {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": str(self),
        }

    def headers(self) -> dict[str, str]:
        """Headers HTTP requires beside the problem document (401's WWW-Authenticate)."""
        return {}


class InvalidRequest(CaseError):
    """The request's payload or parameters did not validate."""

    status = 400
    title = "Invalid request"
    problem_type = "/problems/invalid-request"

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        names = ", ".join(sorted({error["field"] for error in errors}))
        super().__init__(f"Invalid fields: {names}")

    @classmethod
    def for_field(cls, field: str, message: str) -> "InvalidRequest":
        return cls([{"field": field, "message": message}])

    @classmethod
    def from_marshmallow(cls, messages: Any) -> "InvalidRequest":
        return cls(list(_flatten_messages(messages)))

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "errors": self.errors}


def _flatten_messages(messages: Any, prefix: str = "") -> Iterable[dict[str, str]]:
    """Turns marshmallow's nested error dict into a flat list of {field, message}."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            yield from _flatten_messages(value, name)
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten_messages(message, prefix)
    else:
        yield {"field": prefix or "body", "message": str(messages)}


class UnsupportedMediaType(InvalidRequest):
    """A body (a file) of a type the route does not take, or not of the type it was declared to be."""

    status = 415
    title = "Unsupported media type"
    problem_type = "/problems/unsupported-media-type"


class BodyTooLarge(CaseError):
    """A body (a file) over the route's limit."""

    status = 413
    title = "Request body too large"
    problem_type = "/problems/body-too-large"

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"The body is larger than {limit} bytes")

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "errors": [{"field": "body", "message": f"larger than {self.limit} bytes"}]}


class LengthRequired(CaseError):
    """A body (a file) sent without its length: it cannot be checked against the limit before it is read."""

    status = 411
    title = "Length required"
    problem_type = "/problems/length-required"


class Unauthenticated(CaseError):
    status = 401
    title = "Authentication required"
    problem_type = "/problems/unauthenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="regional-cases"'}


class Forbidden(CaseError):
    status = 403
    title = "Not allowed for this role"
    problem_type = "/problems/forbidden"


class NotFound(CaseError):
    status = 404
    title = "Not found"
    problem_type = "/problems/not-found"


class CommandNotAllowed(CaseError):
    """A command that does not fit the aggregate's current state."""

    status = 409
    title = "Command not allowed in the current state"
    problem_type = "/problems/command-not-allowed"

    def __init__(self, command: str, state: str, allowed: Iterable[str]):
        self.command = command
        self.state = state
        self.allowed = sorted(allowed)
        allowed_text = ", ".join(self.allowed) or "none (the case is finished)"
        super().__init__(
            f"Cannot {command} in state '{state}'; allowed commands: {allowed_text}"
        )

    def problem(self) -> dict[str, Any]:
        return {
            **super().problem(),
            "command": self.command,
            "state": self.state,
            "allowed_commands": self.allowed,
        }


class RuleBroken(CaseError):
    """A command the procedure forbids, whatever the state: a quorum not reached, a motion still in committee.

    `rule` names the rule in a word a client can act on (problem+json `rule`); the detail says it in full.
    """

    status = 409
    title = "The procedure does not allow this"
    problem_type = "/problems/rule-broken"

    def __init__(self, rule: str, detail: str):
        self.rule = rule
        super().__init__(detail)

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "rule": self.rule}


class ConcurrentChange(CaseError):
    """Someone else changed the aggregate between our read and our write."""

    status = 409
    title = "Concurrent change"
    problem_type = "/problems/concurrent-change"


class StoreUnavailable(CaseError):
    status = 503
    title = "Event store unavailable"
    problem_type = "/problems/store-unavailable"


EXPECTED_ERRORS = (CaseError,)
