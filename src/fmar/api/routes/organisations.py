"""Organisations: UC-01.02 register, UC-01.03 read and update, status changes, UC-01.04 de-register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from fmar.api.deps import (
    JSON_ONLY,
    AsOf,
    Caller,
    ContextDep,
    HistoryDep,
    JsonObject,
    MergePatch,
    OrganisationsDep,
    RequestIdDep,
    fields,
    operation,
)
from fmar.api.routes import collection, location, respond, respond_as_of

router = APIRouter(tags=["organisations"])


@router.post("/organisations", status_code=201, **operation("organisation.create"))
def register_organisation(request: Request, principal: Caller, organisations: OrganisationsDep, context: ContextDep,
                          request_id: RequestIdDep, body: JsonObject) -> Response:
    """Register an organisation. The admin's registration is Active; an applicant's is PendingApproval."""
    org, graph = organisations.create(principal, body, request_id)
    return respond(request, context, org, graph, status=201, location=location(request, "organisations", org))


@router.get("/organisations", **operation("organisation.list"), dependencies=[JSON_ONLY])
def list_organisations(request: Request, principal: Caller, organisations: OrganisationsDep, context: ContextDep,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       after: Annotated[str | None, Query(description="Cursor: the last ID of the previous page.")]
                       = None) -> dict[str, object]:
    """The organisations the caller may read, in ID order, a page at a time."""
    page, cursor = organisations.page(principal, limit, after)
    next_url = str(request.url.include_query_params(after=cursor)) if cursor else None
    return collection(context, page, next_url)


@router.get("/organisations/{org_id:fmarid}", **operation("organisation.read"))
def read_organisation(request: Request, principal: Caller, organisations: OrganisationsDep, context: ContextDep,
                      history: HistoryDep, org_id: str, as_of: AsOf = None) -> Response:
    """An organisation as JSON-LD, Turtle, N-Triples or RDF/XML, by `Accept`. `?asOf=` gives it as it was recorded then."""
    if as_of is not None:
        return respond_as_of(request, context, history, principal, "organisations", org_id, as_of)
    org, graph = organisations.get(principal, org_id)
    return respond(request, context, org, graph)


@router.patch("/organisations/{org_id:fmarid}", **operation("organisation.update"))
def update_organisation(request: Request, principal: Caller, organisations: OrganisationsDep, context: ContextDep,
                        request_id: RequestIdDep, org_id: str, patch: MergePatch,
                        if_match: Annotated[str | None, Header()] = None) -> Response:
    """JSON merge patch over the data dictionary terms; needs `If-Match` with the current ETag."""
    org, graph = organisations.update(principal, org_id, patch, if_match, request_id)
    return respond(request, context, org, graph)


@router.post("/organisations/{org_id:fmarid}/status", **operation("organisation.status"))
def change_organisation_status(request: Request, principal: Caller, organisations: OrganisationsDep,
                               context: ContextDep, request_id: RequestIdDep, org_id: str,
                               body: JsonObject) -> Response:
    """Approve or reinstate (`Active`), suspend (`Suspended`) or withdraw (`Withdrawn`), with a reason."""
    values = fields(body, ("status",), ("reason",))
    org, graph = organisations.set_status(principal, org_id, str(values["status"]), values["reason"], request_id)
    return respond(request, context, org, graph)


@router.post("/organisations/{org_id:fmarid}/deregister", **operation("organisation.deregister"))
def deregister_organisation(request: Request, principal: Caller, organisations: OrganisationsDep,
                            context: ContextDep, request_id: RequestIdDep, org_id: str, body: JsonObject) -> Response:
    """De-register: refused (409) while assets or qualified units depend on it; else its users go inactive."""
    values = fields(body, (), ("reason",))
    org, graph = organisations.deregister(principal, org_id, values["reason"], request_id)
    return respond(request, context, org, graph)
