"""Assets: UC-02.02 register and validate, find and read, UC-02.04 update, UC-02.03 de-register."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from fmar.api.deps import (
    JSON_ONLY,
    AsOf,
    AssetsDep,
    Caller,
    ContextDep,
    ExportDep,
    HistoryDep,
    JsonObject,
    MergePatch,
    RegistrationsDep,
    RequestIdDep,
    SettingsDep,
    fields,
    operation,
)
from fmar.api.routes import collection, in_lane, location, respond, respond_as_of
from fmar.arm.assets import FILTERS
from fmar.arm.bulk import RecordReport, csv_lines, read_csv, read_ndjson, summary
from fmar.errors import UnsupportedMediaType

router = APIRouter(tags=["assets"])


@router.post("/assets", status_code=201, **operation("asset.create"))
async def register_asset(request: Request, principal: Caller, registrations: RegistrationsDep, context: ContextDep,
                         request_id: RequestIdDep, body: JsonObject) -> Response:
    """Register an asset (JSON-LD or plain JSON, data dictionary terms). It starts PendingValidation.

    Soft rules answer 422 with `severity: Warning` entries; send them again with a `justification`
    to accept them (they are kept with the record)."""
    def register() -> Response:
        asset, graph = registrations.register(principal, body, request_id)
        return respond(request, context, asset, graph, status=201, location=location(request, "assets", asset))
    return await in_lane(register)


BULK_TYPES = {"application/x-ndjson": "ndjson", "application/ndjson": "ndjson", "text/csv": "csv"}
NDJSON = "application/x-ndjson"


@router.post("/assets/bulk", **operation("asset.create", requestBody={"content": {
    "application/x-ndjson": {"schema": {"type": "string", "description": "one asset (JSON object) a line"}},
    "text/csv": {"schema": {"type": "string", "description": "a header row of data dictionary terms, then one asset a row"}},
}}))
async def register_assets_in_bulk(request: Request, principal: Caller, registrations: RegistrationsDep,
                                  context: ContextDep, settings: SettingsDep, request_id: RequestIdDep) -> Response:
    """Register many assets: NDJSON or CSV. Answers 200 with a `summary` and one report line per record
    (`index`, `status` created/rejected/duplicate, `id`, `violations`); a bad record never blocks the others.

    With `Accept: application/x-ndjson` the report is streamed instead, one line per record, batch by batch as
    each batch is stored, then a `summary` line: a client cut off midway knows exactly what was stored."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in BULK_TYPES:
        raise UnsupportedMediaType("send NDJSON (application/x-ndjson) or CSV (text/csv)", accepted=sorted(BULK_TYPES))
    streamed = any(media in (request.headers.get("accept") or "") for media in ("application/x-ndjson",
                                                                             "application/ndjson"))
    raw = await request.body()
    if BULK_TYPES[media] == "ndjson":
        rows = read_ndjson(await run_in_threadpool(raw.splitlines))
    else:  # decoded off the event loop (up to 32 MiB); 422 before anything is registered if it is not UTF-8
        rows = read_csv(await run_in_threadpool(csv_lines, raw), context.terms)
    batches = registrations.batches(principal, rows, settings.bulk_batch_size, request_id)
    if streamed:
        return StreamingResponse(_streamed(request, batches), media_type=NDJSON)
    reports = await run_in_threadpool(lambda: [report for batch in batches for report in batch])
    return Response(json.dumps({"summary": summary(reports), "records": [r.as_dict() for r in reports]}),
                    media_type="application/json")


async def _streamed(request: Request, batches: Iterator[list[RecordReport]]) -> AsyncIterator[bytes]:
    """Each batch's report lines as soon as it is stored (each batch in the thread pool), then the summary. When
    the client has gone, no further batch is stored: the lines it received name everything stored but, at most,
    the batch that was being stored as it went (its audit event carries the request's X-Request-ID)."""
    seen: list[RecordReport] = []
    try:
        while not await request.is_disconnected():
            reports = await run_in_threadpool(next, batches, None)
            if reports is None:
                yield (json.dumps({"summary": summary(seen)}) + "\n").encode()
                return
            seen += reports
            yield "".join(json.dumps(report.as_dict()) + "\n" for report in reports).encode()
    finally:
        await run_in_threadpool(getattr(batches, "close", lambda: None))


@router.get("/assets/export", **operation("asset.export"))
def export_assets(principal: Caller, export: ExportDep, request_id: RequestIdDep,
                  format: Annotated[str, Query(description="jsonld, turtle, ntriples or csv")] = "jsonld",  # noqa: A002
                  ) -> StreamingResponse:
    """Every asset the caller may see, streamed (constant memory). The export is logged in the audit trail."""
    media, chunks = export.stream(principal, format, request_id=request_id)
    return StreamingResponse(chunks, media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="assets.{EXTENSIONS[format]}"'})


EXTENSIONS = {"jsonld": "jsonld", "turtle": "ttl", "ntriples": "nt", "csv": "csv"}


@router.get("/assets", **operation("asset.list"), dependencies=[JSON_ONLY])
def find_assets(request: Request, principal: Caller, assets: AssetsDep, context: ContextDep,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                after: Annotated[str | None, Query(description="Cursor: the last ID of the previous page.")] = None,
                mpan: str | None = None, serialNumber: str | None = None,  # noqa: N803 - data dictionary terms
                friendlyCode: str | None = None, assetCategory: str | None = None,  # noqa: N803
                dno: str | None = None, gspGroup: str | None = None, status: str | None = None,  # noqa: N803
                operatedBy: str | None = None) -> dict[str, object]:  # noqa: N803
    """The assets the caller may see matching every filter given, in ID order, with the exact `total`."""
    given = {"mpan": mpan, "serialNumber": serialNumber, "friendlyCode": friendlyCode,
             "assetCategory": assetCategory, "dno": dno, "gspGroup": gspGroup, "status": status,
             "operatedBy": operatedBy}
    page = assets.find(principal, {k: v for k, v in given.items() if v is not None and k in FILTERS}, limit, after)
    next_url = str(request.url.include_query_params(after=page.cursor)) if page.cursor else None
    return {**collection(context, page.items, next_url), "total": page.total}


@router.get("/assets/{asset_id:fmarid}", **operation("asset.read"))
def read_asset(request: Request, principal: Caller, assets: AssetsDep, context: ContextDep, history: HistoryDep,
               asset_id: str, as_of: AsOf = None) -> Response:
    """An asset as JSON-LD, Turtle, N-Triples or RDF/XML, by `Accept`, with its `ETag`. `?asOf=` gives it
    as it was recorded then."""
    if as_of is not None:
        return respond_as_of(request, context, history, principal, "assets", asset_id, as_of)
    asset, graph = assets.get(principal, asset_id)
    return respond(request, context, asset, graph)


@router.patch("/assets/{asset_id:fmarid}", **operation("asset.update"))
def update_asset(request: Request, principal: Caller, assets: AssetsDep, context: ContextDep, request_id: RequestIdDep,
                 asset_id: str, patch: MergePatch, if_match: Annotated[str | None, Header()] = None) -> Response:
    """JSON merge patch, revalidated in full; needs `If-Match`. `materialChange` lists what makes it material."""
    asset, graph, material = assets.update(principal, asset_id, patch, if_match, request_id)
    return respond(request, context, asset, graph, extra={"materialChange": material} if material else None)


@router.post("/assets/{asset_id:fmarid}/validation", **operation("asset.validate"))
def set_asset_validation(request: Request, principal: Caller, assets: AssetsDep, context: ContextDep,
                         request_id: RequestIdDep, asset_id: str, body: JsonObject) -> Response:
    """An SO of the asset's area, or the admin, sets `status` to Verified or Query, with a `note`."""
    values = fields(body, ("status",), ("note",))
    asset, graph = assets.set_validation(principal, asset_id, str(values["status"]), values["note"], request_id)
    return respond(request, context, asset, graph)


@router.post("/assets/{asset_id:fmarid}/deregister", **operation("asset.deregister"))
def deregister_asset(request: Request, principal: Caller, assets: AssetsDep, context: ContextDep,
                     request_id: RequestIdDep, asset_id: str, body: JsonObject) -> Response:
    """De-register (a soft delete) with a `reason`: DECOMMISSIONED, END_OF_CONTRACT or NO_LONGER_FLEXIBLE."""
    values = fields(body, ("reason",), ("note",))
    asset, graph = assets.deregister(principal, asset_id, str(values["reason"]), values["note"], request_id)
    return respond(request, context, asset, graph)
