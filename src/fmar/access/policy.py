"""The policy table: role × operation × scope, read from ``data/policy.csv``.

Cells hold the scopes a role has for an operation, joined by ``|``:

* ``any`` – every record;
* ``own`` – records of the organisation the caller acts for;
* ``own-admin`` – the same, and the caller administers that organisation;
* ``own-manager`` – the same, and the caller administers it or manages its assets;
* ``area`` – records in a system operator's network areas (DNO licence areas);
* ``delegated`` – a platform acting On-Behalf-Of an FSP whose delegation names the operation;
* ``public`` – the public graphs only (reference data and the public asset view; ``access/datasets.py``);
* ``-`` – none.

A caller that may not even read the target organisation is told 404, not 403, so
that refusals never reveal what exists.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from rdflib import URIRef

from fmar.access.principal import ROLES, Principal
from fmar.errors import Forbidden, NotFound, Unauthorized

SCOPES = {"any", "own", "own-admin", "own-manager", "area", "delegated", "public"}


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    scopes: dict[str, frozenset[str]]

    @property
    def delegable(self) -> bool:
        return "delegated" in self.scopes.get("platform", frozenset())


class Policy:
    """The parsed policy table and the one function that decides a request."""

    def __init__(self, path: Path) -> None:
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

    def __contains__(self, operation: str) -> bool:
        return operation in self.operations

    @property
    def delegable(self) -> list[str]:
        """Operation names an FSP may delegate to a platform (the valid delegation scopes)."""
        return sorted(name for name, op in self.operations.items() if op.delegable)

    def scopes(self, role: str, operation: str) -> frozenset[str]:
        return self.operations[operation].scopes.get(role, frozenset())

    def allows(self, principal: Principal, operation: str, target_org: URIRef | None,
               target_area: URIRef | None = None) -> bool:
        """Whether the principal may perform ``operation`` on a record of ``target_org`` (in ``target_area``)."""
        if principal.acting_for_other:
            # A platform acting for an FSP: the delegation must name the operation, and the
            # table must let platforms perform it by delegation, on that FSP's records only.
            return ("delegated" in self.scopes("platform", operation)
                    and operation in principal.delegated_scopes
                    and target_org is not None and target_org == principal.org)
        scopes = self.scopes(principal.role, operation)
        if "any" in scopes:
            return True
        if "area" in scopes and target_area is not None and target_area in principal.areas:
            return True
        own = target_org is not None and target_org == principal.org
        if own and "own" in scopes:
            return True
        if own and "own-manager" in scopes and (principal.org_admin or principal.asset_manager):
            return True
        return own and "own-admin" in scopes and principal.org_admin

    def require_role(self, principal: Principal, operation: str) -> None:
        """The route-level gate: the role has some scope for the operation at all."""
        if operation not in self.operations:
            raise Forbidden(f"operation {operation!r} has no policy row")
        if principal.acting_for_other:
            if operation not in principal.delegated_scopes or "delegated" not in self.scopes("platform", operation):
                raise Forbidden(f"the delegation does not allow {operation!r} on behalf of this organisation")
            return
        if not self.scopes(principal.role, operation):
            if principal.anonymous:
                raise Unauthorized("this operation needs a bearer token",
                                   headers={"WWW-Authenticate": 'Bearer realm="fmar"'})
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
