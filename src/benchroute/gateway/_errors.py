"""The one error type the gateway answers with: an HTTP status and an OpenAI-shaped body."""

from __future__ import annotations

from typing import Any

import orjson

# OpenAI's ``error.type`` for each status the gateway answers with.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout_error",
}


class GatewayError(Exception):
    """A request the gateway refuses or could not serve: ``status``, a short machine
    ``code`` and a message for the client. The message never holds a provider key (the
    providers' errors do not, and every message is scrubbed once more before it is sent)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: str, message: str, **extra: Any) -> bytes:
    """``{"error": {"message", "type", "code"}}``, as the OpenAI API spells an error."""
    error: dict[str, Any] = {
        "message": message,
        "type": _TYPES.get(status, "api_error"),
        "param": None,
        "code": code,
        **extra,
    }
    return orjson.dumps({"error": error})
