"""Problem documents (RFC 9457): every error the API answers, in one shape.

A problem carries the library's own message as ``detail``, a ``hint`` where
there is something to do, and, for bad input, ``errors``: one entry per field,
named as the request spelled it (``targetUrl``, ``query.limit``,
``header.Idempotency-Key``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import (
    ConfigurationError,
    NotFoundError,
    PayloadError,
    QueryError,
    RegistryError,
    WebhookError,
    WebhookLimitError,
)

__all__ = ["PROBLEM_TYPE", "ApiError", "from_library", "from_validation"]

PROBLEM_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
}


class ApiError(Exception):
    """An error the API answers as a problem document with ``status``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        hint: str | None = None,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.hint = hint
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers or {}

    def document(self, instance: str) -> dict[str, Any]:
        """The problem document's JSON object."""
        doc: dict[str, Any] = {
            "type": "about:blank",
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.hint:
            doc["hint"] = self.hint
        if self.errors:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def from_library(exc: WebhookError) -> ApiError:
    """The problem for an error the library raised, with its message as the detail."""
    message = str(exc)
    hint = getattr(exc, "hint", None)
    if isinstance(exc, NotFoundError):
        return ApiError(404, message, hint=hint)
    if isinstance(exc, WebhookLimitError):
        return ApiError(409, message, hint=hint, extra={"limit": exc.limit})
    if isinstance(exc, RegistryError | QueryError | PayloadError | ConfigurationError):
        return ApiError(422, message, hint=hint)
    return ApiError(400, message, hint=hint)


def from_validation(exc: ValidationError, where: str) -> ApiError:
    """A 422 naming each field pydantic refused, as the request spelled it.

    ``where`` is ``body`` or ``query``; a body field is named by its path
    (``events.0``), a query parameter as ``query.<name>``.
    """
    errors = []
    for item in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in item["loc"]) or where
        field = path if where == "body" else f"{where}.{path}"
        errors.append({"field": field, "message": item["msg"]})
    first = errors[0] if errors else {"field": where, "message": "not valid"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return ApiError(422, detail, errors=errors)
