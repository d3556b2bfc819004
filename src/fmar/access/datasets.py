"""Which named graphs a caller may read: the one dataset every SPARQL query, graph read and view runs on.

The policy table names a scope per role (``data/policy.csv``, rows ``sparql.query``, ``store.read``,
``view.read``); the graphs of each scope follow from the registry's graph layout:

* everyone: the public graphs: ontology, shapes, code lists, reference data, published category
  versions (``graph/category/…``) and the derived public asset view (``graph/public``);
* ``own``: the caller's organisation's graph and its asset graphs (``graph/org/{id}``, ``…/area/{code}``);
* ``area``: every organisation's asset graphs in the system operator's network areas
  (``graph/org/*/area/{code}``);
* ``delegated``: a platform acting for an FSP under a delegation naming the operation: that FSP's graphs;
* ``any``: every graph, the audit trail included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.iris import Iris, notation
from fmar.store import GraphStore

PUBLIC_GRAPHS = ("ontology", "shapes", "codes", "reference", "public")
PUBLIC_PREFIXES = ("category/",)


@dataclass(frozen=True)
class Readable:
    """The graphs a caller may read: all of them, or these."""

    everything: bool
    graphs: tuple[str, ...] = ()
    #: Whether they reach beyond the public graphs (a read of them is logged).
    restricted: bool = False
    allowed: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed", frozenset(self.graphs))

    def __contains__(self, graph: str) -> bool:
        return self.everything or graph in self.allowed

    def only(self, requested: Iterable[str]) -> list[str]:
        """The requested graphs the caller may read, in the order asked (the others are left out unsaid)."""
        return list(dict.fromkeys(g for g in requested if g in self))


class Datasets:
    """Works out :class:`Readable` for a caller from the policy table and the graphs in the store."""

    def __init__(self, policy: Policy, iris: Iris, store: GraphStore) -> None:
        self.policy, self.iris, self.store = policy, iris, store
        self._cache: dict[tuple[object, ...], tuple[tuple[str, ...], Readable]] = {}

    def public(self, names: Iterable[str]) -> list[str]:
        fixed = [self.iris.graph(name) for name in PUBLIC_GRAPHS]
        prefixes = tuple(str(self.iris.graph(p)) for p in PUBLIC_PREFIXES)
        return [*map(str, fixed), *sorted(n for n in names if n.startswith(prefixes))]

    def beyond_public(self, graphs: Iterable[str]) -> bool:
        """Whether any of these graphs is not a public one (so that reading it is logged)."""
        graphs = list(graphs)
        public = set(self.public(graphs))
        return any(g not in public for g in graphs)

    def readable(self, principal: Principal, operation: str) -> Readable:
        """What ``principal`` may read through ``operation`` (a policy row of the data-sharing kind)."""
        self.policy.require_role(principal, operation)
        # a platform acting for an FSP reads that FSP's graphs (require_role checked the delegation names it)
        scopes = frozenset({"own"}) if principal.acting_for_other else self.policy.scopes(principal.role, operation)
        if "any" in scopes:
            return Readable(everything=True, restricted=True)
        names = self.store.graph_names()
        key = (scopes, principal.org, principal.areas)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is names:  # the store's graphs are as they were
            return cached[1]
        if len(self._cache) > 4096:
            self._cache.clear()
        readable = self._readable(principal, scopes, names)
        self._cache[key] = (names, readable)
        return readable

    def _readable(self, principal: Principal, scopes: frozenset[str], names: tuple[str, ...]) -> Readable:
        graphs = self.public(names)
        public = len(graphs)
        if scopes & {"own", "own-admin", "own-manager"} and principal.org is not None:
            own = str(self.iris.org_graph(principal.org))
            graphs += [n for n in names if n == own or n.startswith(own + "/")]
        if "area" in scopes and principal.areas:
            suffixes = tuple(f"/area/{notation(str(a))}" for a in principal.areas)
            prefix = str(self.iris.graph("org/"))
            graphs += [n for n in names if n.startswith(prefix) and n.endswith(suffixes)]
        graphs = list(dict.fromkeys(graphs))
        return Readable(everything=False, graphs=tuple(graphs), restricted=len(graphs) > public)
