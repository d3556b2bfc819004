"""Registry errors. Each carries what an RFC 9457 problem document needs; the API renders them."""

from __future__ import annotations

import math
from typing import Any

PROBLEM_BASE = "https://w3id.org/fmar/problems/"


class FmarError(Exception):
    """A refusal with an HTTP status, a stable problem type and a human-readable detail."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        """The problem type URI."""
        return PROBLEM_BASE + self.slug

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document."""
        body: dict[str, Any] = dict(self.extensions)  # extensions never replace the standard members
        body.update({"type": self.type, "title": self.title, "status": self.status, "detail": self.detail})
        if instance:
            body["instance"] = instance
        return body


class BadRequest(FmarError):
    slug, title = "bad-request", "Bad request"


class MalformedBody(FmarError):
    slug, title = "malformed-body", "The request body could not be read"


class Unauthorized(FmarError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(FmarError):
    status, slug, title = 403, "forbidden", "Operation not permitted"


class NotFound(FmarError):
    status, slug, title = 404, "not-found", "Not found"


class NotAcceptable(FmarError):
    status, slug, title = 406, "not-acceptable", "No acceptable representation"


class Gone(FmarError):
    status, slug, title = 410, "gone", "No longer held here"


class Conflict(FmarError):
    status, slug, title = 409, "conflict", "Conflict with the registry's state"


class Duplicate(Conflict):
    slug, title = "duplicate", "Already registered"


class PreconditionFailed(FmarError):
    status, slug, title = 412, "precondition-failed", "The record has changed"


class PayloadTooLarge(FmarError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(FmarError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(FmarError):
    status, slug, title = 422, "unprocessable", "The submission cannot be processed"


class ValidationFailed(FmarError):
    """SHACL (or registry rule) results: one entry per result in ``errors``."""

    status, slug, title = 422, "validation-failed", "The submission does not conform"


class PreconditionRequired(FmarError):
    status, slug, title = 428, "precondition-required", "If-Match required"


class QuerySyntax(FmarError):
    """A SPARQL query or update the engine cannot parse."""

    slug, title = "sparql-syntax", "SPARQL syntax error"


class SparqlRefused(FmarError):
    """A SPARQL request the endpoint never runs (SERVICE, LOAD): refused before it reaches the store."""

    status, slug, title = 403, "sparql-refused", "SPARQL operation not allowed"


class ResultTooLarge(FmarError):
    status, slug, title = 422, "sparql-row-cap", "The result is over the row cap"


class TooManyRequests(FmarError):
    """A budget is spent; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: float, **extensions: Any) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(detail, headers={"Retry-After": str(seconds)}, retryAfter=seconds, **extensions)


class QueryTimeout(FmarError):
    status, slug, title = 503, "sparql-time-limit", "The query ran past its time limit"

