"""The policy table itself, pinned: widening or narrowing anyone's access is a reviewed change here."""

from __future__ import annotations

from fmar.access.policy import Policy
from fmar.config import Settings
from fmar.iris import Iris

# operation: admin, regulator, fsp, so, supplier, platform, consumer, applicant, anonymous
EXPECTED = """
meta.read                any any any any any any any any any
auth.token               any any any any any any any any any
organisation.create      any - - - - - - any -
organisation.list        any any own own own delegated|own - - -
organisation.read        any any own own own delegated|own - - -
organisation.update      any - own-admin own-admin own-admin delegated|own-admin - - -
organisation.status      any - - - - - - - -
organisation.deregister  any - own-admin own-admin own-admin own-admin - - -
user.create              any own-admin own-admin own-admin own-admin own-admin - - -
user.list                any any own own own own - - -
user.read                any any own own own own - - -
user.status              any own-admin own-admin own-admin own-admin own-admin - - -
client.create            any - - - - own-admin - - -
client.list              any - - - - own - - -
client.revoke            any - - - - own-admin - - -
delegation.create        any - own-admin - - - - - -
delegation.list          any any own - - own - - -
delegation.revoke        any - own-admin - - - - - -
asset.create             any - own-manager - - delegated - - -
asset.list               any any own area - delegated - - -
asset.read               any any own area - delegated - - -
asset.update             any - own-manager - - delegated - - -
asset.validate           any - - area - - - - -
asset.deregister         any - own-manager - - delegated - - -
asset.export             any any own area - delegated - - -
category.list            any any any any any any any any any
category.read            any any any any any any any any any
category.update          any - - - - - - - -
category.deprecate       any - - - - - - - -
sparql.query             any any own area public delegated|public public public public
sparql.update            any - - - - - - - -
store.read               any any own area public delegated|public public public public
view.read                any any own area public delegated|public public public public
history.read             any any made|own area|made|own made|own delegated|made|own - - -
audit.read               any any made made made made - - -
audit.verify             any any - - - - - - -
"""
COLUMNS = ("admin", "regulator", "fsp", "so", "supplier", "platform", "consumer", "applicant", "anonymous")


def test_policy_table_is_as_reviewed() -> None:
    policy = Policy(Settings().resource("data", "policy.csv"), Iris(Settings().base_iri))
    actual = {name: tuple("|".join(sorted(op.scopes[c])) or "-" for c in COLUMNS)
              for name, op in policy.operations.items()}
    expected = {line.split()[0]: tuple(line.split()[1:]) for line in EXPECTED.strip().splitlines()}
    assert actual == expected


def test_delegable_scopes_are_the_platform_delegated_cells() -> None:
    policy = Policy(Settings().resource("data", "policy.csv"), Iris(Settings().base_iri))
    assert policy.delegable == ["asset.create", "asset.deregister", "asset.export", "asset.list", "asset.read",
                                "asset.update", "history.read",
                                "organisation.list", "organisation.read", "organisation.update", "sparql.query", "store.read",
                                "view.read"]
