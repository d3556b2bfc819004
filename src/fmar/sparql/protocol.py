"""The SPARQL 1.1 Protocol's request rules: which operation a request asks for, with which dataset.

GET carries a ``query`` in the URL (an ``update`` by GET is refused); POST carries a form
(``application/x-www-form-urlencoded``, ``query`` or ``update`` in the body) or the operation itself
(``application/sparql-query``, ``application/sparql-update``), always UTF-8. A GET without a query
asks for the service description. The refusals use the status codes the Oxigraph server uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from fmar.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FORM, QUERY, UPDATE = "application/x-www-form-urlencoded", "application/sparql-query", "application/sparql-update"
#: Protocol parameters naming a query's dataset and an update's.
QUERY_DATASET = ("default-graph-uri", "named-graph-uri")
UPDATE_DATASET = ("using-graph-uri", "using-named-graph-uri")


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request the protocol reads."""

    method: str
    params: list[tuple[str, str]]  # from the URL, in order, repeated names kept
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Operation:
    """A query, an update, or a request for the service description, with the protocol's dataset."""

    kind: str  # "query" | "update" | "description"
    text: str = ""
    default: tuple[str, ...] = ()  # default-graph-uri (queries) or using-graph-uri (updates)
    named: tuple[str, ...] = ()  # named-graph-uri or using-named-graph-uri

    @property
    def dataset_given(self) -> bool:
        return bool(self.default or self.named)


def read(request: Request, max_bytes: int) -> Operation:
    """The operation a protocol request asks for; 400, 413 or 415 when it breaks the protocol."""
    if request.method in ("GET", "HEAD"):
        params = request.params
        if _values(params, "update"):
            raise BadRequest("an update must be sent by POST, not GET")
        queries = _values(params, "query")
        if not queries:
            return Operation("description")
        return _operation("query", _one(queries, "query"), params, max_bytes)
    media, charset = _media(request.content_type)
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(f"SPARQL requests are UTF-8, not {charset}", accepted=[FORM, QUERY, UPDATE])
    if media == FORM:
        params = request.params + parse_qsl(_utf8(request.body), keep_blank_values=True)
        queries, updates = _values(params, "query"), _values(params, "update")
        if queries and updates:
            raise BadRequest("send a query or an update, not both")
        if not (queries or updates):
            raise BadRequest("the form has neither a query nor an update field")
        kind, values = ("query", queries) if queries else ("update", updates)
        return _operation(kind, _one(values, kind), params, max_bytes)
    if media in (QUERY, UPDATE):
        if _values(request.params, "query") or _values(request.params, "update"):
            raise BadRequest("the operation is the request body; do not also send one in the URL")
        return _operation("query" if media == QUERY else "update", _utf8(request.body), request.params, max_bytes)
    if media is None:
        raise UnsupportedMediaType(f"send Content-Type {QUERY}, {UPDATE} or {FORM}", accepted=[FORM, QUERY, UPDATE])
    raise UnsupportedMediaType(f"a SPARQL request is {QUERY}, {UPDATE} or {FORM}, not {media}",
                               accepted=[FORM, QUERY, UPDATE])


def _operation(kind: str, text: str, params: list[tuple[str, str]], max_bytes: int) -> Operation:
    if len(text.encode()) > max_bytes:
        raise PayloadTooLarge(f"the {kind} is over {max_bytes:,} bytes", limit=max_bytes)
    default, named = QUERY_DATASET if kind == "query" else UPDATE_DATASET
    return Operation(kind, text, tuple(_values(params, default)), tuple(_values(params, named)))


def _values(params: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in params if k == name]


def _one(values: list[str], name: str) -> str:
    if len(values) > 1:
        raise BadRequest(f"send exactly one {name}, not {len(values)}")
    return values[0]


def _media(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.strip():
        return None, None
    media, *params = (part.strip() for part in header.split(";"))
    charset = next((p.partition("=")[2].strip().strip('"').lower() for p in params
                    if p.partition("=")[0].strip().lower() == "charset"), None)
    return media.lower(), charset


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not UTF-8 (byte {exc.start})") from exc
