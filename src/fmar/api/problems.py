"""RFC 9457 problem+json for every refusal: registry errors, bad parameters, unknown routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from fmar.errors import PROBLEM_BASE, FmarError

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem document as an HTTP response."""
    return JSONResponse(problem, status_code=int(problem["status"]), media_type=PROBLEM_JSON, headers=headers)


def _instance(request: Request) -> str:
    return str(request.url.path)


async def _fmar_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FmarError)  # noqa: S101 - registered for FmarError only
    return problem_response(exc.problem(_instance(request)), exc.headers)


async def _parameter_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = [{"path": ".".join(str(p) for p in e.get("loc", ())[1:]) or str(e.get("loc", ("",))[0]),
               "message": e.get("msg", ""), "value": e.get("input") if isinstance(e.get("input"), str | int | float) else None}
              for e in exc.errors()]
    return problem_response({"type": PROBLEM_BASE + "bad-parameter", "title": "Bad request parameter",
                             "status": 400, "detail": "; ".join(f"{e['path']}: {e['message']}" for e in errors),
                             "instance": _instance(request), "errors": errors})


_HTTP_SLUGS = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    return problem_response({"type": PROBLEM_BASE + slug, "title": title, "status": exc.status_code,
                             "detail": detail, "instance": _instance(request)}, dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    """Register the problem handlers on an app."""
    app.add_exception_handler(FmarError, _fmar_error)
    app.add_exception_handler(RequestValidationError, _parameter_error)
    app.add_exception_handler(HTTPException, _http_error)
