"""The OAuth2 token endpoint: the client-credentials grant of RFC 6749 §4.4, with §5.2 errors."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fmar.api.deps import PlatformsDep, Public, operation
from fmar.spum.platforms import OAuthError

router = APIRouter(tags=["auth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"


def _oauth_error(error: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="fmar"'
    return JSONResponse({"error": error.error, "error_description": error.description},
                        status_code=error.status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: client id and secret, form-urlencoded, then HTTP Basic."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/auth/token", **operation("auth.token", requestBody={"content": {FORM: {"schema": {
    "type": "object", "required": ["grant_type"], "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"}, "client_secret": {"type": "string"},
        "scope": {"type": "string"}}}}}}))
async def token(request: Request, _: Public, platforms: PlatformsDep) -> JSONResponse:
    """Exchange a platform's client credentials (HTTP Basic or form fields) for a bearer token."""
    authorization = request.headers.get("authorization")
    try:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            raise OAuthError("invalid_request", f"send the request as {FORM}")
        form = await request.form()
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        repeated = sorted({k for k, _ in form.multi_items() if len(form.getlist(k)) > 1})
        if repeated:
            raise OAuthError("invalid_request", f"parameter(s) repeated: {', '.join(repeated)}")
        grant = values.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant != "client_credentials":
            raise OAuthError("unsupported_grant_type", "only the client_credentials grant is supported")
        credentials = _basic_credentials(authorization)
        if credentials and ("client_secret" in values):
            raise OAuthError("invalid_request", "authenticate the client by one method only")
        if credentials is None:
            if not values.get("client_id") or not values.get("client_secret"):
                raise OAuthError("invalid_client", "client authentication is required", 401)
            credentials = (values["client_id"], values["client_secret"])
        access_token, ttl = await run_in_threadpool(platforms.issue_token, *credentials)
    except OAuthError as error:
        return _oauth_error(error)
    return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": ttl},
                        headers=NO_STORE)
