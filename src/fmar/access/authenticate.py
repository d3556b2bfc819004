"""From a bearer token (and an optional On-Behalf-Of header) to a :class:`Principal`.

Tokens are checked against the registry's state, so de-registering an organisation, deactivating a user or
revoking a client stops their tokens at once. A principal once resolved is kept for its token until a write
could change what it was resolved from (any write but an asset's or a category's: :meth:`Authenticator.changed`),
the token expires, its delegation ends, or :data:`KEEP_SECONDS` pass, so that most requests need no look-up.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from fmar.access.principal import ANONYMOUS, ROLES, Principal
from fmar.access.tokens import TokenService, invalid_token
from fmar.errors import BadRequest, Forbidden
from fmar.iris import Iris, code, notation
from fmar.store import GraphStore

_ORG = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?org ?status ?registryRole WHERE { ?org a fmar:Organisation ; fmar:status ?status .
  OPTIONAL { ?org fmar:hasRole ?role . ?role fmar:registryRole ?registryRole } }"""
_AREAS = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?org ?area WHERE { ?org fmar:networkArea ?area }"""
_USER = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?user ?status ?org ?role WHERE { ?user a fmar:User ; fmar:status ?status ; fmar:memberOf ?org .
  OPTIONAL { ?user fmar:hasRole ?role } }"""
_CLIENT = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?id ?client ?status ?org WHERE { ?client a fmar:ClientCredential ; fmar:clientId ?id ;
  fmar:status ?status ; fmar:clientOf ?org }"""
_DELEGATION = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?fsp ?platform ?now ?delegation ?scope ?to WHERE {
  ?delegation a fmar:Delegation ; fmar:delegatedBy ?fsp ; fmar:platform ?platform ;
      fmar:status <https://w3id.org/fmar/code/CredentialStatus/Active> ; fmar:validFrom ?from ; fmar:scope ?scope .
  OPTIONAL { ?delegation fmar:validTo ?to }
  FILTER (?from <= ?now && (!BOUND(?to) || ?now < ?to)) }"""

ORG_REQUIRED = {"fsp", "so", "supplier", "platform"}
#: The longest a resolved principal is kept (a bound on what a write by another process could leave stale).
KEEP_SECONDS = 30.0
#: Writes that cannot change a principal: those of assets and categories (and reads that are logged).
_HARMLESS = ("asset.", "category.", "sparql.query", "store.read", "view.read")
OPERATOR = frozenset({"ORG_ADMIN", "ASSET_MANAGER"})
CLOSED = {code("OrganisationStatus", "Inactive"), code("OrganisationStatus", "Withdrawn")}


class Authenticator:
    """Resolves principals; the only place tokens are trusted."""

    def __init__(self, store: GraphStore, tokens: TokenService, iris: Iris) -> None:
        self.store, self.tokens, self.iris = store, tokens, iris
        self._kept: dict[tuple[str, str | None], tuple[Principal, float, int]] = {}
        self._generation = 0
        self._guard = threading.Lock()

    def changed(self, operation: str) -> None:
        """A write was made (the write path says which): forget every principal unless it cannot matter."""
        if not operation.startswith(_HARMLESS):
            with self._guard:
                self._generation += 1
                self._kept.clear()

    def kept(self, authorization: str | None, on_behalf_of: str | None = None) -> Principal | None:
        """The principal resolved for these headers, if it still holds (no store is read); None otherwise."""
        if not authorization:
            return None if on_behalf_of else ANONYMOUS
        entry = self._kept.get((authorization, on_behalf_of))
        if entry is None or entry[1] <= time.time() or entry[2] != self._generation:
            return None
        return entry[0]

    def principal(self, authorization: str | None, on_behalf_of: str | None = None) -> Principal:
        """The caller, resolved from the token and the registry's state (and kept); anonymous without an
        Authorization header."""
        generation = self._generation
        principal, until = self._resolve(authorization, on_behalf_of)
        if authorization and until > time.time():
            with self._guard:
                if generation == self._generation:
                    if len(self._kept) > 10_000:
                        self._kept.clear()
                    self._kept[(authorization, on_behalf_of)] = (principal, until, generation)
        return principal

    def _resolve(self, authorization: str | None, on_behalf_of: str | None) -> tuple[Principal, float]:
        """The caller, and until when it holds (at most the token's expiry and the delegation's end)."""
        if not authorization:
            if on_behalf_of:
                raise invalid_token("On-Behalf-Of needs a platform's bearer token")
            return ANONYMOUS, 0.0
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise invalid_token("use 'Authorization: Bearer <token>'")
        claims = self.tokens.verify(token.strip())
        role = claims.get("role")
        if role not in ROLES:
            raise invalid_token(f"unknown role {role!r}")
        org = self._org_claim(claims.get("org"), role)
        subject = str(claims["sub"])
        user, roles = self._subject(subject, claims, org)
        areas = frozenset(URIRef(str(r["area"])) for r in self.store.select(_AREAS, bindings={"org": org})) \
            if role == "so" and org is not None else frozenset()
        principal = Principal(role=role, subject=subject, org=org, user=user, org_admin="ORG_ADMIN" in roles,
                              asset_manager="ASSET_MANAGER" in roles, areas=areas, token_id=claims.get("jti"))
        until = min(float(claims["exp"]), time.time() + KEEP_SECONDS)
        if on_behalf_of:
            return self._on_behalf_of(principal, on_behalf_of, until)
        return principal, until

    def _org_claim(self, value: object, role: str) -> URIRef | None:
        if value in (None, ""):
            if role in ORG_REQUIRED:
                raise invalid_token(f"a {role} token must name its organisation (org claim)")
            return None
        org = self.iris.parse(str(value), "organisations")
        if org is None:
            raise invalid_token("the org claim is not an FMAR Organisation ID or IRI")
        rows = self.store.select(_ORG, bindings={"org": org})
        if not rows:
            raise invalid_token("the token's organisation is not registered")
        status = rows[0]["status"]
        if status in CLOSED:
            raise invalid_token("the token's organisation is de-registered or withdrawn")
        if status == code("OrganisationStatus", "Suspended"):
            raise Forbidden("the organisation is suspended")
        allowed = {str(r["registryRole"]) for r in rows if "registryRole" in r}
        if role in ORG_REQUIRED | {"admin", "regulator"} and role not in allowed:
            raise Forbidden(f"the organisation holds no role that allows {role!r} tokens")
        return org

    def _subject(self, subject: str, claims: dict[str, object], org: URIRef | None) -> tuple[URIRef | None, frozenset[str]]:
        """A registered user (must be Active, in the token's org) or a platform client (must be Active)."""
        if claims.get("client_id"):
            rows = self.store.select(_CLIENT, bindings={"id": Literal(str(claims["client_id"]))})
            if not rows or rows[0]["status"] != code("CredentialStatus", "Active") or rows[0]["org"] != org:
                raise invalid_token("the client credential has been revoked")
            return None, frozenset({"ASSET_MANAGER"})  # a platform's client manages, never administers
        user = self.iris.parse(subject, "users")
        if user is None:
            return None, OPERATOR  # an operator-issued token for the organisation itself
        rows = self.store.select(_USER, bindings={"user": user})
        if not rows:
            return None, OPERATOR
        if rows[0]["status"] != code("UserStatus", "Active"):
            raise invalid_token("the user is deactivated")
        if org is not None and rows[0]["org"] != org:
            raise invalid_token("the user does not belong to the token's organisation")
        return user, frozenset(notation(str(r["role"])) for r in rows if "role" in r)

    def _on_behalf_of(self, platform: Principal, value: str, until: float) -> tuple[Principal, float]:
        if platform.role != "platform" or platform.org is None:
            raise Forbidden("only a platform may act On-Behalf-Of another organisation")
        fsp = self.iris.parse(value, "organisations")
        if fsp is None:
            raise BadRequest("On-Behalf-Of must be an FMAR Organisation ID or IRI")
        now = Literal(datetime.now(UTC).isoformat(), datatype=XSD.dateTime)
        rows = self.store.select(_DELEGATION, bindings={"fsp": fsp, "platform": platform.org, "now": now})
        if not rows:
            raise Forbidden("no delegation in force from that organisation to this platform")
        ends = [datetime.fromisoformat(str(r["to"]).replace("Z", "+00:00")).timestamp() for r in rows if "to" in r]
        return Principal(role="platform", subject=platform.subject, org=fsp, user=platform.user,
                         asset_manager=True,
                         agent_org=platform.org, delegated_scopes=frozenset(str(r["scope"]) for r in rows),
                         delegation=URIRef(str(rows[0]["delegation"])), token_id=platform.token_id), min([until, *ends])
