"""Platforms (UC-05.04): client credentials, the client-credentials grant, and delegations."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.access.tokens import TokenService
from fmar.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from fmar.iris import FMAR, Iris, code, new_id
from fmar.jsonld import JsonLdContext
from fmar.records import REGISTRY_SET, expand_reference, load_record, stamp, with_status
from fmar.spum.organisations import Organisations
from fmar.store import GraphStore
from fmar.writepath import Change, RecordChange, WritePath

_CLIENTS = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?client ?org WHERE { ?client a fmar:ClientCredential ; fmar:clientOf ?org ; dcterms:identifier ?id } ORDER BY ?id"""
_CLIENT_BY_ID = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?id ?client ?hash ?status ?org ?orgStatus WHERE {
  ?client a fmar:ClientCredential ; fmar:clientId ?id ; fmar:secretHash ?hash ; fmar:status ?status ;
          fmar:clientOf ?org . ?org fmar:status ?orgStatus }"""
_DELEGATIONS = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?org ?delegation WHERE { ?delegation a fmar:Delegation ; dcterms:identifier ?id .
  { ?delegation fmar:delegatedBy ?org } UNION { ?delegation fmar:platform ?org } } ORDER BY ?id"""

ACTIVE = code("CredentialStatus", "Active")
REVOKED = code("CredentialStatus", "Revoked")


def hash_secret(secret: str, salt: str | None = None) -> str:
    """A salted SHA-256 of a high-entropy client secret (``sha256$salt$hex``)."""
    salt = salt or secrets.token_hex(16)
    return f"sha256${salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"


def secret_matches(secret: str, stored: str) -> bool:
    _, salt, _ = stored.split("$", 2)
    return hmac.compare_digest(hash_secret(secret, salt), stored)


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: ``error`` code, description and HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class Platforms:
    """Client credentials and delegations."""

    def __init__(self, store: GraphStore, iris: Iris, context: JsonLdContext, policy: Policy, write: WritePath,
                 organisations: Organisations, tokens: TokenService, token_ttl: int) -> None:
        """``token_ttl``: the lifetime in seconds of the tokens the client-credentials grant issues."""
        self.store, self.iris, self.context, self.policy, self.write = store, iris, context, policy, write
        self.organisations, self.tokens, self.token_ttl = organisations, tokens, token_ttl

    # ------------------------------------------------------------------ client credentials

    def create_client(self, principal: Principal, org_value: str, name: str | None,
                      request_id: str | None = None) -> tuple[URIRef, str, str]:
        """Issue a client id and secret to a platform organisation; the secret is returned once only."""
        org = self.organisations.parse(org_value)
        self.policy.require(principal, "client.create", org, "organisation.read")
        self.organisations.load(org)
        identifier = new_id()
        client = self.iris.record("clients", identifier)
        secret = secrets.token_urlsafe(32)
        graph = Graph()
        graph.add((client, RDF.type, FMAR.ClientCredential))
        graph.add((client, FMAR.clientId, Literal(identifier)))
        graph.add((client, FMAR.secretHash, Literal(hash_secret(secret))))
        graph.add((client, FMAR.clientOf, org))
        if name:
            graph.add((client, FMAR.name, Literal(name)))
        stamp(graph, client, identifier, ACTIVE)
        self.write.commit(Change("client.create", principal, org,
                                   [RecordChange(client, self.iris.graph("credentials"), Graph(), graph)],
                                   request_id=request_id, read_operation="organisation.read"))
        return client, identifier, secret

    def list_clients(self, principal: Principal, org_value: str) -> list[tuple[URIRef, Graph]]:
        org = self.organisations.parse(org_value)
        self.policy.require(principal, "client.list", org, "organisation.read")
        return [(URIRef(str(row["client"])), self.client_view(URIRef(str(row["client"]))))
                for row in self.store.select(_CLIENTS, bindings={"org": org})]

    def client_view(self, client: URIRef) -> Graph:
        """A client credential as shown to its platform: everything but the secret's hash."""
        graph, _ = load_record(self.store, client)
        graph.remove((None, FMAR.secretHash, None))
        return graph

    def revoke_client(self, principal: Principal, org_value: str, client_value: str, reason: str | None,
                      request_id: str | None = None) -> URIRef:
        org = self.organisations.parse(org_value)
        self.policy.require(principal, "client.revoke", org, "organisation.read")
        client = self.iris.parse(client_value, "clients")
        graph, named = load_record(self.store, client) if client is not None else (Graph(), None)
        if client is None or named is None or graph.value(client, FMAR.clientOf) != org:
            raise NotFound("no such client credential")
        self._revoke(principal, "client.revoke", org, client, graph, named, reason, request_id)
        return client

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int]:
        """RFC 6749 §4.4: a platform token for valid client credentials."""
        rows = self.store.select(_CLIENT_BY_ID, bindings={"id": Literal(client_id)})
        if not rows or not secret_matches(client_secret, str(rows[0]["hash"])):
            raise OAuthError("invalid_client", "unknown client or wrong secret", 401)
        row = rows[0]
        if row["status"] != ACTIVE:
            raise OAuthError("invalid_client", "the client credential has been revoked", 401)
        if row["orgStatus"] != code("OrganisationStatus", "Active"):
            raise OAuthError("unauthorized_client", "the platform organisation is not Active", 400)
        ttl = self.token_ttl
        token = self.tokens.issue(role="platform", subject=client_id, org=str(row["org"]), ttl=ttl,
                                    extra={"client_id": client_id})
        return token, ttl

    # ------------------------------------------------------------------ delegations

    def create_delegation(self, principal: Principal, org_value: str, body: dict[str, Any],
                          request_id: str | None = None) -> tuple[URIRef, Graph]:
        """An FSP delegates named operations to a platform for a period."""
        fsp = self.organisations.parse(org_value)
        self.policy.require(principal, "delegation.create", fsp, "organisation.read")
        self.organisations.load(fsp)
        supplied = sorted(k for k in (*REGISTRY_SET, "delegatedBy") if k in body)
        if supplied:
            raise Unprocessable(f"{', '.join(supplied)} are set by the registry, not by the submitter",
                                terms=supplied)
        body = expand_reference(self.iris, body, "platform")
        identifier = new_id()
        delegation = self.iris.record("delegations", identifier)
        graph = self.context.read(body, record=delegation, record_type="Delegation")
        graph.add((delegation, FMAR.delegatedBy, fsp))
        stamp(graph, delegation, identifier, ACTIVE)
        unknown = sorted(str(s) for s in graph.objects(delegation, FMAR.scope)
                         if str(s) not in self.policy.delegable)
        if unknown:
            raise ValidationFailed("scopes must be delegable operations of the policy table", errors=[
                {"path": "scopes", "value": s, "message": f"{s!r} is not a delegable operation; delegable: "
                 + ", ".join(self.policy.delegable), "constraint": "fmar:delegableScope",
                 "severity": "Violation", "focusNode": str(delegation)} for s in unknown])
        self.write.commit(Change("delegation.create", principal, fsp,
                                   [RecordChange(delegation, self.iris.org_graph(fsp), Graph(), graph)],
                                   request_id=request_id, read_operation="organisation.read"))
        return delegation, graph

    def list_delegations(self, principal: Principal, org_value: str) -> list[tuple[URIRef, Graph]]:
        org = self.organisations.parse(org_value)
        self.policy.require(principal, "delegation.list", org, "organisation.read")
        return [(URIRef(str(r["delegation"])), load_record(self.store, URIRef(str(r["delegation"])))[0])
                for r in self.store.select(_DELEGATIONS, bindings={"org": org})]

    def revoke_delegation(self, principal: Principal, org_value: str, delegation_value: str,
                          reason: str | None, request_id: str | None = None) -> tuple[URIRef, Graph]:
        fsp = self.organisations.parse(org_value)
        self.policy.require(principal, "delegation.revoke", fsp, "organisation.read")
        delegation = self.iris.parse(delegation_value, "delegations")
        graph, named = load_record(self.store, delegation) if delegation is not None else (Graph(), None)
        if delegation is None or named is None or graph.value(delegation, FMAR.delegatedBy) != fsp:
            raise NotFound("no such delegation")
        after = self._revoke(principal, "delegation.revoke", fsp, delegation, graph, named, reason, request_id)
        return delegation, after

    def _revoke(self, principal: Principal, operation: str, org: URIRef, record: URIRef, before: Graph,
                named: URIRef, reason: str | None, request_id: str | None) -> Graph:
        def still_active() -> None:
            if before.value(record, FMAR.status) != ACTIVE:
                raise Conflict("already revoked")

        after = with_status(before, record, REVOKED)
        self.write.commit(Change(operation, principal, org, [RecordChange(record, named, before, after)],
                                   reason=reason, request_id=request_id, read_operation="organisation.read",
                                   checks=[still_active]))
        return after
