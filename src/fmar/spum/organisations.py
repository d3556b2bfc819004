"""Organisations: register (UC-01.02), update (UC-01.03), status changes, de-register (UC-01.04)."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, URIRef

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.errors import Conflict, Duplicate, NotFound, PreconditionFailed, Unprocessable, ValidationFailed
from fmar.iris import DCTERMS, FMAR, Iris, code, new_id
from fmar.jsonld import JsonLdContext
from fmar.normalise import ORGANISATION, normalise
from fmar.records import (
    REGISTRY_SET,
    carry_over,
    etag,
    load_record,
    merge_patch,
    pop_text,
    require_match,
    stamp,
    transition_check,
    with_status,
)
from fmar.spum.company import CompanyVerifier
from fmar.store import GraphStore
from fmar.writepath import Change, RecordChange, WritePath

_BY_COMPANY_NUMBER = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?org ?n WHERE { ?org a fmar:Organisation ; fmar:companyNumber ?n }"""
_ANY = "ASK { ?o a <https://w3id.org/fmar#Organisation> }"
_PAGE = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?org ?id ?after WHERE { ?org a fmar:Organisation ; dcterms:identifier ?id FILTER (STR(?id) > ?after) %s }
ORDER BY ?id LIMIT %d"""
_DEPENDENTS = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?org ?kind ?record ?id WHERE {
  { ?record a fmar:Asset ; fmar:operatedBy ?org ; dcterms:identifier ?id .
    FILTER NOT EXISTS { ?record fmar:status <https://w3id.org/fmar/code/AssetStatus/Deregistered> }
    BIND("active asset" AS ?kind) }
  UNION
  { ?record a fmar:MarketUnit ; fmar:unitOperatedBy ?org ; dcterms:identifier ?id .
    ?q fmar:qualifies ?record ; fmar:status <https://w3id.org/fmar/code/QualificationStatus/Qualified> .
    BIND("qualified market unit" AS ?kind) }
} ORDER BY ?kind ?id LIMIT 100"""
_MEMBERS = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT DISTINCT ?org ?record WHERE {
  { ?record a fmar:User ; fmar:memberOf ?org }
  UNION { ?record a fmar:ClientCredential ; fmar:clientOf ?org }
  UNION { ?record a fmar:Delegation ; fmar:delegatedBy ?org }
  UNION { ?record a fmar:Delegation ; fmar:platform ?org } }"""

ORG_STATUS = "OrganisationStatus"
#: The status each status-change request moves to, and the ones reached otherwise.
STATUS_TARGETS = {"Active", "Suspended", "Withdrawn"}
CLOSED_MEMBER_STATUS = {FMAR.User: code("UserStatus", "Inactive"),
                        FMAR.ClientCredential: code("CredentialStatus", "Revoked"),
                        FMAR.Delegation: code("CredentialStatus", "Revoked")}


class Organisations:
    """The organisation service."""

    def __init__(self, store: GraphStore, iris: Iris, context: JsonLdContext, policy: Policy, write: WritePath,
                 companies: CompanyVerifier) -> None:
        self.store, self.iris, self.context, self.policy, self.write = store, iris, context, policy, write
        self.companies = companies

    # ------------------------------------------------------------------ helpers

    def parse(self, value: str) -> URIRef:
        """An organisation IRI from a bare ID or IRI (404 when it is neither)."""
        org = self.iris.parse(value, "organisations")
        if org is None:
            raise NotFound(f"no organisation {value!r}")
        return org

    def any_registered(self) -> bool:
        """Whether any organisation is registered yet."""
        return self.store.ask(_ANY)

    def load(self, org: URIRef) -> tuple[Graph, URIRef]:
        graph, named = load_record(self.store, org)
        if named is None or (org, FMAR.status, None) not in graph:
            raise NotFound("no such organisation")
        return graph, named

    def _read_body(self, body: dict[str, Any], org: URIRef, *, creating: bool) -> Graph:
        if creating:
            supplied = sorted(k for k in REGISTRY_SET if k in body or f"@{k}" in body)
            if supplied:
                raise Unprocessable(f"{', '.join(supplied)} are set by the registry, not by the submitter",
                                    terms=supplied)
        # company and VAT numbers in the form the registry stores and checks (src/fmar/normalise.py)
        return normalise(self.context.read(body, record=org, record_type="Organisation"), org, ORGANISATION)

    def _company_checks(self, graph: Graph, org: URIRef) -> list[Any]:
        number = graph.value(org, FMAR.companyNumber)

        def unique() -> None:
            if number is None:
                return
            for row in self.store.select(_BY_COMPANY_NUMBER, bindings={"n": Literal(str(number))}):
                if row["org"] != org:
                    existing = self.iris.identifier(str(row["org"]))
                    raise Duplicate(f"company number {number} is already registered as organisation {existing}",
                                    existingId=existing, existing=str(row["org"]))
        return [unique]

    def _verify_company(self, graph: Graph, org: URIRef, justification: str | None) -> None:
        number = graph.value(org, FMAR.companyNumber)
        if number is None:
            return
        self.write.check(graph, [org], justification)  # format errors first, before asking the register
        check = self.companies.verify(str(number))
        if check is not None and not (check.found and check.active):
            state = "is not on the company register" if not check.found else "is not an active company"
            raise ValidationFailed("the company register refused the company number", errors=[{
                "path": "companyNumber", "value": str(number), "message": f"company {number} {state}",
                "constraint": "fmar:companyRegistered", "severity": "Violation", "focusNode": str(org)}])

    # ------------------------------------------------------------------ use cases

    def create(self, principal: Principal, body: dict[str, Any], request_id: str | None = None) -> tuple[URIRef, Graph]:
        """UC-01.02: an admin's registration is Active, an applicant's PendingApproval."""
        self.policy.require_role(principal, "organisation.create")
        identifier = new_id()
        org = self.iris.record("organisations", identifier)
        body = dict(body)
        justification = pop_text(body, "justification")
        graph = self._read_body(body, org, creating=True)
        status = "Active" if principal.role == "admin" else "PendingApproval"
        stamp(graph, org, identifier, code(ORG_STATUS, status))
        self._verify_company(graph, org, justification)
        self.write.commit(Change("organisation.create", principal, None,
                                   [RecordChange(org, self.iris.org_graph(org), Graph(), graph)],
                                   justification=justification, request_id=request_id,
                                   checks=self._company_checks(graph, org)))
        return org, graph

    def get(self, principal: Principal, value: str) -> tuple[URIRef, Graph]:
        org = self.parse(value)
        self.policy.require(principal, "organisation.read", org, "organisation.read")
        return org, self.load(org)[0]

    def page(self, principal: Principal, limit: int = 100,
             after: str | None = None) -> tuple[list[tuple[URIRef, Graph]], str | None]:
        """The organisations the caller may read, in identifier order, with a cursor."""
        visible = self.policy.search_filter(principal, "organisation.list", org="?org")
        if visible is None:
            return [], None
        rows = self.store.select(_PAGE % (visible, limit + 1), bindings={"after": Literal(after or "")})
        page = [URIRef(str(row["org"])) for row in rows[:limit]]
        return [(org, self.load(org)[0]) for org in page], self.iris.identifier(page[-1]) if len(rows) > limit else None

    def update(self, principal: Principal, value: str, patch: dict[str, Any], if_match: str | None,
               request_id: str | None = None) -> tuple[URIRef, Graph]:
        """UC-01.03: JSON merge patch over the data dictionary terms, guarded by If-Match."""
        org = self.parse(value)
        self.policy.require(principal, "organisation.update", org, "organisation.read")
        if not isinstance(patch, dict):
            raise Unprocessable("a merge patch must be a JSON object")
        patch = dict(patch)
        reason, justification = pop_text(patch, "reason"), pop_text(patch, "justification")
        changed = sorted(k for k in (*REGISTRY_SET, "type") if k in patch)
        if changed:
            raise Unprocessable(f"{', '.join(changed)} cannot be changed by PATCH", terms=changed)
        before, named = self.load(org)
        require_match(if_match, before)
        current = self.context.write(before, org)
        current.pop("acceptedWarnings", None)  # revalidated in full: warnings are accepted afresh
        after = self._read_body(merge_patch(current, patch), org, creating=False)  # type: ignore[arg-type]
        carry_over(before, after, org, (DCTERMS.identifier, FMAR.status, FMAR.recordedAt))
        if after.value(org, FMAR.companyNumber) != before.value(org, FMAR.companyNumber):
            self._verify_company(after, org, justification)

        def unchanged() -> None:
            if etag(load_record(self.store, org)[0]) != etag(before):
                raise PreconditionFailed("the organisation changed while the update was prepared")

        self.write.commit(Change("organisation.update", principal, org,
                                   [RecordChange(org, named, before, after)], reason=reason,
                                   justification=justification, request_id=request_id,
                                   read_operation="organisation.read",
                                   checks=[unchanged, *self._company_checks(after, org)]))
        return org, after

    def set_status(self, principal: Principal, value: str, status: str, reason: str | None,
                   request_id: str | None = None) -> tuple[URIRef, Graph]:
        """Approve (→Active), suspend (→Suspended), reinstate (→Active) or withdraw (→Withdrawn)."""
        org = self.parse(value)
        self.policy.require(principal, "organisation.status", org, "organisation.read")
        if status not in STATUS_TARGETS:
            raise Unprocessable(f"status must be one of {', '.join(sorted(STATUS_TARGETS))}"
                                + ("; use POST /organisations/{id}/deregister to de-register" if status == "Inactive" else ""),
                                pointer="/status")
        if status in {"Suspended", "Withdrawn"} and not (reason and reason.strip()):
            raise Unprocessable(f"a reason is required to move an organisation to {status}", pointer="/reason")
        return self._transition(principal, org, "organisation.status", code(ORG_STATUS, status), reason, request_id)

    def deregister(self, principal: Principal, value: str, reason: str | None,
                   request_id: str | None = None) -> tuple[URIRef, Graph]:
        """UC-01.04: refused while assets or qualified units depend on it; else all goes inactive."""
        org = self.parse(value)
        self.policy.require(principal, "organisation.deregister", org, "organisation.read")

        def no_dependents() -> None:
            rows = self.store.select(_DEPENDENTS, bindings={"org": org})
            if rows:
                raise Conflict(f"{len(rows)} record(s) still depend on this organisation; de-register or "
                               "transfer them first", dependents=[
                                   {"kind": str(r["kind"]), "id": str(r["id"]), "record": str(r["record"])}
                                   for r in rows])

        return self._transition(principal, org, "organisation.deregister", code(ORG_STATUS, "Inactive"),
                                reason, request_id, cascade=True, checks=[no_dependents])

    def _transition(self, principal: Principal, org: URIRef, operation: str, target: URIRef,
                    reason: str | None, request_id: str | None, *, cascade: bool = False,
                    checks: list[Any] | None = None) -> tuple[URIRef, Graph]:
        before, named = self.load(org)
        allowed_move = transition_check(self.store, "an organisation", before.value(org, FMAR.status), target)
        changes = [RecordChange(org, named, before, with_status(before, org, target))]
        if cascade:
            changes += self._close_members(org)
        self.write.commit(Change(operation, principal, org, changes, reason=reason, request_id=request_id,
                                   read_operation="organisation.read",
                                   checks=[allowed_move, *(checks or [])]))
        return org, changes[0].after

    def _close_members(self, org: URIRef) -> list[RecordChange]:
        """Users become Inactive; client credentials and delegations are revoked."""
        changes = []
        for row in self.store.select(_MEMBERS, bindings={"org": org}):
            record = URIRef(str(row["record"]))
            graph, named = load_record(self.store, record)
            kind = next(t for t in CLOSED_MEMBER_STATUS if (record, None, t) in graph)
            closed = CLOSED_MEMBER_STATUS[kind]
            if named is not None and graph.value(record, FMAR.status) != closed:
                changes.append(RecordChange(record, named, graph, with_status(graph, record, closed)))
        return changes

