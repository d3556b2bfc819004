"""The composition root: :func:`build` makes every service from the settings, each given the collaborators
its constructor names. Only the faces (the HTTP API, the command line) and the tests hold the result; no
service sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef
from rdflib.term import Node

from fmar.access.authenticate import Authenticator
from fmar.access.policy import Policy
from fmar.access.tokens import TokenService
from fmar.arm.assets import Assets
from fmar.arm.categories import Categories
from fmar.arm.export import Export
from fmar.arm.public_view import PublicView
from fmar.arm.registration import Registrations
from fmar.arm.submission import AssetReader
from fmar.arm.uniqueness import Uniqueness
from fmar.audit.history import History, Kind
from fmar.audit.trail import AuditTrail
from fmar.catalogue import Catalogue
from fmar.config import Settings
from fmar.iris import FMAR, Iris
from fmar.jobs import Jobs
from fmar.jsonld import JsonLdContext
from fmar.paging import Pager
from fmar.sparql.budget import Budget
from fmar.sparql.endpoint import Limits, SparqlEndpoint
from fmar.sparql.views import AssetView
from fmar.spum.company import CompanyVerifier, make_verifier
from fmar.spum.organisations import Organisations
from fmar.spum.platforms import Platforms
from fmar.spum.users import Users
from fmar.store import Store, open_store
from fmar.writepath import WritePath


@dataclass(frozen=True)
class Registry:
    """Every service of one registry, built by :func:`build`."""

    settings: Settings
    iris: Iris
    store: Store
    context: JsonLdContext
    policy: Policy
    catalogue: Catalogue
    write: WritePath
    tokens: TokenService
    auth: Authenticator
    organisations: Organisations
    users: Users
    platforms: Platforms
    assets: Assets
    registrations: Registrations
    categories: Categories
    export: Export
    history: History
    audit: AuditTrail
    sparql: SparqlEndpoint
    views: AssetView
    jobs: Jobs

    def close(self) -> None:
        self.store.close()


def build(settings: Settings, store: Store | None = None, companies: CompanyVerifier | None = None) -> Registry:
    """Every service of a registry over ``store`` (by default the settings' store)."""
    iris = Iris(settings.base_iri)
    if store is None:
        store = open_store(settings.store_path, query_workers=settings.sparql_workers, journal=str(iris.graph("audit")))
    context = JsonLdContext(settings.resource("data", "context.jsonld"), iris.context_url)
    policy = Policy(settings.resource("data", "policy.csv"), iris)
    catalogue = Catalogue(store, iris, settings.validator, sorted(settings.resource("shapes").rglob("*.ttl")),
                          context.term_for)
    write = WritePath(store, policy, catalogue, iris)
    tokens = TokenService(settings)
    view = PublicView(settings.resource("data", "views", "public-assets.ttl"))
    reader = AssetReader(iris, context, catalogue)
    uniqueness = Uniqueness(store, iris, policy)
    organisations = Organisations(store, iris, context, policy, write, companies or make_verifier(settings))
    pager = Pager(store)
    assets = Assets(store, iris, context, policy, write, reader, uniqueness, view, pager, settings.material_change_share)
    history = History(store, policy, iris, {
        "assets": Kind("assets", "asset.read", Assets.target),
        "organisations": Kind("organisations", "organisation.read", lambda graph, org: (org, None)),
        "users": Kind("users", "user.read", lambda graph, user: (_iri(graph.value(user, FMAR.memberOf)), None)),
        "clients": Kind("clients", "client.list", lambda graph, c: (_iri(graph.value(c, FMAR.clientOf)), None)),
        "delegations": Kind("delegations", "delegation.list",
                            lambda graph, d: (_iri(graph.value(d, FMAR.delegatedBy)), None)),
    })
    export = Export(store, iris, context, policy, write)
    jobs = Jobs()
    limits = Limits(settings.sparql_time_limit, settings.sparql_row_cap, settings.sparql_workers)
    budget = Budget(settings.sparql_anonymous_queries, settings.sparql_anonymous_seconds,
                    settings.sparql_anonymous_window, max(1, settings.sparql_workers - 1))
    auth = Authenticator(store, tokens, iris)
    write.listeners.append(auth.changed)
    return Registry(
        settings=settings, iris=iris, store=store, context=context, policy=policy, catalogue=catalogue, write=write,
        tokens=tokens, auth=auth, organisations=organisations,
        users=Users(store, iris, context, policy, write, organisations),
        platforms=Platforms(store, iris, context, policy, write, organisations, tokens, settings.token_ttl_seconds),
        assets=assets, registrations=Registrations(store, iris, policy, write, reader, uniqueness, view),
        categories=Categories(store, iris, policy, write, catalogue, history, export, jobs), export=export,
        history=history, audit=AuditTrail(store, policy, iris, write.head, history),
        sparql=SparqlEndpoint(store, policy, iris, write, limits, budget),
        views=AssetView(store, policy, iris, context, write, pager, settings.resource("data", "queries", "asset-view.rq")),
        jobs=jobs)


def _iri(node: Node | None) -> URIRef | None:
    return node if isinstance(node, URIRef) else None
