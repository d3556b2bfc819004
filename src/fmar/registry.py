"""The registry: one object that wires store, context, policy, validation, write path and services."""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.term import Node

from fmar.access.authenticate import Authenticator
from fmar.access.policy import Policy
from fmar.access.tokens import TokenService
from fmar.audit.history import History, Kind
from fmar.audit.trail import AuditTrail
from fmar.config import Settings
from fmar.iris import FMAR, Iris
from fmar.jsonld import JsonLdContext
from fmar.spum.company import CompanyVerifier, make_verifier
from fmar.store import GraphStore
from fmar.store.oxigraph import OxigraphStore
from fmar.validation import make_validator
from fmar.validation.shacl import load_shapes
from fmar.writepath import WritePath


class Registry:
    """Everything a request or a command needs, built once from settings."""

    def __init__(self, settings: Settings, store: GraphStore | None = None,
                 companies: CompanyVerifier | None = None) -> None:
        from fmar.arm.assets import Assets
        from fmar.arm.bulk import BulkImport
        from fmar.arm.categories import Categories
        from fmar.arm.export import Export
        from fmar.sparql.endpoint import SparqlEndpoint
        from fmar.sparql.views import AssetView
        from fmar.spum.organisations import Organisations
        from fmar.spum.platforms import Platforms
        from fmar.spum.users import Users

        self.settings = settings
        self.iris = Iris(settings.base_iri)
        self.store: GraphStore = store if store is not None else OxigraphStore(settings.store_path)
        self.context = JsonLdContext(settings.resource("data", "context.jsonld"), self.iris.context_url)
        self.policy = Policy(settings.resource("data", "policy.csv"))
        self.validator = make_validator(settings.validator, load_shapes(sorted(settings.resource("shapes").rglob("*.ttl"))),
                                        self.context.term_for)
        self.write = WritePath(self.store, self.policy, self.validator, self.iris)
        self.tokens = TokenService(settings)
        self.auth = Authenticator(self.store, self.tokens, self.iris)
        self.companies = companies or make_verifier(settings)
        self.organisations = Organisations(self)
        self.users = Users(self)
        self.platforms = Platforms(self)
        self.assets = Assets(self)
        self.bulk = BulkImport(self)
        self.categories = Categories(self)
        published = self.categories.published()
        if published:
            self.use_shapes(self.categories.merged(published))
        self.history = History(self.store, self.policy, self.iris, {
            "assets": Kind("assets", "asset.read", Assets.target),
            "organisations": Kind("organisations", "organisation.read", lambda graph, org: (org, None)),
            "users": Kind("users", "user.read", lambda graph, user: (_iri(graph.value(user, FMAR.memberOf)), None)),
            "clients": Kind("clients", "client.list", lambda graph, c: (_iri(graph.value(c, FMAR.clientOf)), None)),
            "delegations": Kind("delegations", "delegation.list",
                                lambda graph, d: (_iri(graph.value(d, FMAR.delegatedBy)), None)),
        })
        self.category_kind = Kind("categories", "category.read", lambda graph, shape: (None, None))
        self.audit = AuditTrail(self.store, self.policy, self.iris, self.write.chain, self.history)
        self.export = Export(self)
        self.sparql = SparqlEndpoint(self)
        self.views = AssetView(self)

    def use_shapes(self, shapes: Graph) -> None:
        """Validate with these shapes from now on (a category shape was published)."""
        self.validator = make_validator(self.settings.validator, shapes, self.context.term_for)
        self.write.validator = self.validator
        self.write._reference = None
        self.assets._tables = None

    def forget_cached(self) -> None:
        """Read what is cached from the store again (after a SPARQL update changed it underneath)."""
        self.write._reference = None
        self.assets._tables = None

    def close(self) -> None:
        self.store.close()


def _iri(node: Node | None) -> URIRef | None:
    return node if isinstance(node, URIRef) else None
