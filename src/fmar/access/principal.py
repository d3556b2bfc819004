"""Who is calling: the principal a verified token resolves to."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import URIRef

ROLES = ("admin", "regulator", "fsp", "so", "supplier", "platform", "consumer", "applicant")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (or the anonymous one).

    ``org`` is the organisation the caller acts for: its own, or for a platform using
    ``On-Behalf-Of``, the FSP it acts for (then ``agent_org`` is the platform and
    ``delegated_scopes`` the operations the delegation grants). ``org_admin`` and
    ``asset_manager`` come from the user's roles in the organisation; ``areas`` are the DNO
    licence areas of a system operator's organisation.
    """

    role: str
    subject: str
    org: URIRef | None = None
    user: URIRef | None = None
    org_admin: bool = False
    asset_manager: bool = False
    areas: frozenset[URIRef] = field(default_factory=frozenset)
    agent_org: URIRef | None = None
    delegated_scopes: frozenset[str] = field(default_factory=frozenset)
    delegation: URIRef | None = None
    token_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.role == "anonymous"

    @property
    def acting_for_other(self) -> bool:
        """A platform acting On-Behalf-Of an FSP."""
        return self.delegation is not None


ANONYMOUS = Principal(role="anonymous", subject="anonymous")
SYSTEM = Principal(role="admin", subject="fmar-system", org_admin=True)
