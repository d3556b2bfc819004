"""The policy table, role × operation × scope, read from ``data/policy.csv``, and its one interpreter.

Cells hold the scopes a role has for an operation, joined by ``|``:

* ``any`` – every record;
* ``own`` – records of the organisation the caller acts for;
* ``own-admin`` – the same, and the caller administers that organisation;
* ``own-manager`` – the same, and the caller administers it or manages its assets;
* ``area`` – records in a system operator's network areas (DNO licence areas);
* ``made`` – what the caller's organisation did itself (an audit event it made, a change in a record's history);
* ``delegated`` – a platform acting On-Behalf-Of an FSP whose delegation names the operation;
* ``public`` – the public graphs only (reference data and the public asset view);
* ``-`` – none.

:class:`Policy` answers every question the table decides, for every surface: may this caller do this to this
record (:meth:`Policy.allows`, :meth:`Policy.require`), which named graphs may it read (:meth:`Policy.readable`),
and which SPARQL filter restricts its search (:meth:`Policy.search_filter`). A caller that may not even read the
target record is told 404, not 403, so that refusals never reveal what exists.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import URIRef

from fmar.access.principal import ROLES, Principal
from fmar.errors import Forbidden, NotFound, Unauthorized
from fmar.iris import Iris, notation

SCOPES = {"any", "own", "own-admin", "own-manager", "area", "made", "delegated", "public"}
OWN = frozenset({"own", "own-admin", "own-manager"})
#: The graphs everyone may read (the public scope), and the prefixes of more of them (published category versions).
PUBLIC_GRAPHS = ("ontology", "shapes", "codes", "reference", "public")
PUBLIC_PREFIXES = ("category/",)


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    scopes: dict[str, frozenset[str]]

    @property
    def delegable(self) -> bool:
        return "delegated" in self.scopes.get("platform", frozenset())


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


class Policy:
    """The parsed policy table and the one interpreter of it."""

    def __init__(self, path: Path, iris: Iris) -> None:
        self.iris = iris
        self.operations: dict[str, Operation] = {}
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                scopes = {}
                for role in (*ROLES, "anonymous"):
                    cell = row[role].strip()
                    values = frozenset() if cell == "-" else frozenset(cell.split("|"))
                    if not values <= SCOPES:
                        raise ValueError(f"policy row {row['operation']}: unknown scope in {cell!r}")
                    scopes[role] = values
                self.operations[row["operation"]] = Operation(row["operation"], row["description"], scopes)
        self._readable: dict[tuple[object, ...], tuple[tuple[str, ...], Readable]] = {}

    def __contains__(self, operation: str) -> bool:
        return operation in self.operations

    @property
    def delegable(self) -> list[str]:
        """Operation names an FSP may delegate to a platform (the valid delegation scopes)."""
        return sorted(name for name, op in self.operations.items() if op.delegable)

    def scopes(self, principal: Principal, operation: str) -> frozenset[str]:
        """The scopes the caller has for an operation: its role's cell, or for a platform acting for an FSP under
        a delegation naming the operation, the platform's cell narrowed to that FSP's records (``own``) and
        what it did itself (``made``)."""
        cells = self.operations[operation].scopes
        if principal.acting_for_other:
            platform = cells.get("platform", frozenset())
            if "delegated" not in platform or operation not in principal.delegated_scopes:
                return frozenset()
            return frozenset({"own"}) | (platform & {"made"})
        return cells.get(principal.role, frozenset())

    # ------------------------------------------------------------------ one record

    def allows(self, principal: Principal, operation: str, target_org: URIRef | None,
               target_area: URIRef | None = None, made_by: Sequence[str | None] = ()) -> bool:
        """Whether the principal may perform ``operation`` on a record of ``target_org`` (in ``target_area``;
        ``made_by``: the organisations that made the change in question, for the ``made`` scope)."""
        scopes = self.scopes(principal, operation)
        if "any" in scopes:
            return True
        if "area" in scopes and target_area is not None and target_area in principal.areas:
            return True
        org = principal.org
        if org is not None and "made" in scopes and str(org) in made_by:
            return True
        if org is None or target_org != org:
            return False
        if "own" in scopes:
            return True
        if "own-manager" in scopes and (principal.org_admin or principal.asset_manager):
            return True
        return "own-admin" in scopes and principal.org_admin

    def require_role(self, principal: Principal, operation: str) -> None:
        """The route-level gate: the caller has some scope for the operation at all."""
        if operation not in self.operations:
            raise Forbidden(f"operation {operation!r} has no policy row")
        if self.scopes(principal, operation):
            return
        if principal.acting_for_other:
            raise Forbidden(f"the delegation does not allow {operation!r} on behalf of this organisation")
        if principal.anonymous:
            raise Unauthorized("this operation needs a bearer token", headers={"WWW-Authenticate": 'Bearer realm="fmar"'})
        raise Forbidden(f"role {principal.role!r} may not perform {operation!r}")

    def require(self, principal: Principal, operation: str, target_org: URIRef | None,
                read_operation: str | None = None, target_area: URIRef | None = None) -> None:
        """Decide one request on one target: nothing, 403, or 404 when the caller may not even see it."""
        self.require_role(principal, operation)
        if self.allows(principal, operation, target_org, target_area):
            return
        if read_operation and not self.allows(principal, read_operation, target_org, target_area):
            raise NotFound("no such record")
        raise Forbidden(f"role {principal.role!r} may not perform {operation!r} on this record")

    # ------------------------------------------------------------------ searches

    def search_filter(self, principal: Principal, operation: str, *, org: str | None = None,
                      area: str | None = None, made: Sequence[str] = ()) -> str | None:
        """The SPARQL filter that restricts a search to the records the caller may see through ``operation``:
        ``""`` for every record, None for none. The search names its variables: ``org`` the record's
        organisation, ``area`` its DNO area, ``made`` the organisations that made an event."""
        self.require_role(principal, operation)
        scopes = self.scopes(principal, operation)
        if "any" in scopes:
            return ""
        options = []
        mine = f"<{principal.org}>" if principal.org is not None else None
        if org and mine and (scopes & OWN) and self.allows(principal, operation, principal.org):
            options.append(f"{org} = {mine}")
        if area and "area" in scopes and principal.areas:
            options.append(f"{area} IN ({', '.join(f'<{a}>' for a in sorted(principal.areas))})")
        if made and mine and "made" in scopes:
            options += [f"{variable} = {mine}" for variable in made]
        return f"FILTER ({' || '.join(options)})" if options else None

    # ------------------------------------------------------------------ graphs

    def public_graphs(self, names: Iterable[str]) -> list[str]:
        """The public graphs: the fixed ones, and those of ``names`` under the public prefixes."""
        prefixes = tuple(str(self.iris.graph(p)) for p in PUBLIC_PREFIXES)
        return [*(str(self.iris.graph(name)) for name in PUBLIC_GRAPHS),
                *sorted(n for n in names if n.startswith(prefixes))]

    def beyond_public(self, graphs: Iterable[str]) -> bool:
        """Whether any of these graphs is not a public one (so that reading it is logged)."""
        graphs = list(graphs)
        public = set(self.public_graphs(graphs))
        return any(g not in public for g in graphs)

    def readable(self, principal: Principal, operation: str, names: tuple[str, ...]) -> Readable:
        """The graphs (of ``names``, the store's) the caller may read through ``operation``: everyone the public
        graphs; ``own`` its organisation's graph and its asset graphs (``graph/org/{id}``, ``…/area/{code}``);
        ``area`` every organisation's asset graphs in its areas (``graph/org/*/area/{code}``); ``any`` all,
        the audit trail included. Worked out once per scope and set of graphs."""
        self.require_role(principal, operation)
        scopes = self.scopes(principal, operation)
        if "any" in scopes:
            return Readable(everything=True, restricted=True)
        key = (scopes, principal.org, principal.areas)
        cached = self._readable.get(key)
        if cached is not None and cached[0] is names:  # the store's graphs are as they were
            return cached[1]
        if len(self._readable) > 4096:
            self._readable.clear()
        graphs = self.public_graphs(names)
        public = len(graphs)
        if scopes & OWN and principal.org is not None:
            own = str(self.iris.org_graph(principal.org))
            graphs += [n for n in names if n == own or n.startswith(own + "/")]
        if "area" in scopes and principal.areas:
            suffixes = tuple(f"/area/{notation(str(a))}" for a in principal.areas)
            prefix = str(self.iris.graph("org/"))
            graphs += [n for n in names if n.startswith(prefix) and n.endswith(suffixes)]
        graphs = list(dict.fromkeys(graphs))
        readable = Readable(everything=False, graphs=tuple(graphs), restricted=len(graphs) > public)
        self._readable[key] = (names, readable)
        return readable
