"""Users (UC-01.01) and their activation and deactivation (UC-01.04)."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, Literal, URIRef

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.errors import Conflict, Duplicate, NotFound, Unprocessable
from fmar.iris import FMAR, Iris, code, new_id, notation
from fmar.jsonld import JsonLdContext
from fmar.records import REGISTRY_SET, load_record, stamp, with_status
from fmar.spum.organisations import Organisations
from fmar.store import GraphStore
from fmar.writepath import Change, RecordChange, WritePath

_BY_EMAIL = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?user ?org ?wanted WHERE { ?user a fmar:User ; fmar:memberOf ?org ; fmar:email ?email .
  FILTER (LCASE(STR(?email)) = ?wanted) }"""
_MEMBERS = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?user ?org WHERE { ?user a fmar:User ; fmar:memberOf ?org ; dcterms:identifier ?id } ORDER BY ?id"""


class Users:
    """The user service."""

    def __init__(self, store: GraphStore, iris: Iris, context: JsonLdContext, policy: Policy, write: WritePath,
                 organisations: Organisations) -> None:
        self.store, self.iris, self.context, self.policy, self.write = store, iris, context, policy, write
        self.organisations = organisations

    def _user(self, value: str) -> tuple[URIRef, Graph, URIRef, URIRef]:
        user = self.iris.parse(value, "users")
        graph, named = load_record(self.store, user) if user is not None else (Graph(), None)
        org = graph.value(user, FMAR.memberOf) if user is not None else None
        if user is None or named is None or not isinstance(org, URIRef):
            raise NotFound(f"no user {value!r}")
        return user, graph, named, org

    def create(self, principal: Principal, org_value: str, body: dict[str, Any],
               request_id: str | None = None) -> tuple[URIRef, Graph]:
        """Register a user of an organisation: name, email (unique in it), roles."""
        org = self.organisations.parse(org_value)
        self.policy.require(principal, "user.create", org, "organisation.read")
        self.organisations.load(org)
        supplied = sorted(k for k in (*REGISTRY_SET, "memberOf") if k in body)
        if supplied:
            raise Unprocessable(f"{', '.join(supplied)} are set by the registry, not by the submitter",
                                terms=supplied)
        identifier = new_id()
        user = self.iris.record("users", identifier)
        graph = self.context.read(body, record=user, record_type="User")
        graph.add((user, FMAR.memberOf, org))
        stamp(graph, user, identifier, code("UserStatus", "Active"))
        email = graph.value(user, FMAR.email)

        def unique_email() -> None:
            if email is None:
                return
            rows = self.store.select(_BY_EMAIL, bindings={"org": org, "wanted": Literal(str(email).lower())})
            if rows:
                existing = self.iris.identifier(str(rows[0]["user"]))
                raise Duplicate(f"{email} is already a user of this organisation ({existing})",
                                existingId=existing, existing=str(rows[0]["user"]))

        self.write.commit(Change("user.create", principal, org,
                                   [RecordChange(user, self.iris.org_graph(org), Graph(), graph)],
                                   request_id=request_id, read_operation="organisation.read",
                                   checks=[unique_email]))
        return user, graph

    def get(self, principal: Principal, value: str) -> tuple[URIRef, Graph]:
        user, graph, _, org = self._user(value)
        self.policy.require(principal, "user.read", org, "user.read")
        return user, graph

    def members(self, principal: Principal, org_value: str) -> list[tuple[URIRef, Graph]]:
        """The organisation's users, in ID order."""
        org = self.organisations.parse(org_value)
        self.policy.require(principal, "user.list", org, "organisation.read")
        self.organisations.load(org)
        return [(user, load_record(self.store, user)[0])
                for user in (URIRef(str(r["user"])) for r in self.store.select(_MEMBERS, bindings={"org": org}))]

    def set_active(self, principal: Principal, value: str, active: bool, reason: str | None,
                   request_id: str | None = None) -> tuple[URIRef, Graph]:
        """Activate or deactivate a user; a deactivated user's tokens are refused at once."""
        user, before, named, org = self._user(value)
        self.policy.require(principal, "user.status", org, "user.read")
        target = code("UserStatus", "Active" if active else "Inactive")
        after = with_status(before, user, target)

        def changes_something() -> None:
            if before.value(user, FMAR.status) == target:
                raise Conflict(f"the user is already {notation(str(target))}")

        self.write.commit(Change("user.status", principal, org, [RecordChange(user, named, before, after)],
                                   reason=reason, request_id=request_id, read_operation="user.read",
                                   checks=[changes_something]))
        return user, after
