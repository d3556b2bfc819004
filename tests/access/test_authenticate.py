"""The principal a token resolves to is kept, and forgotten as soon as anything it was resolved from may change."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from fmar.access.principal import SYSTEM
from fmar.errors import FmarError
from fmar.registry import Registry
from tests.conftest import asset_body, mpan, org_body


@pytest.fixture
def fsp(registry: Registry) -> str:
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="71717171"))
    return str(org)


def _reads(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the authenticator's look-ups in the store."""
    seen: list[str] = []
    select = registry.store.select

    def counted(query: str, **kwargs: object) -> object:
        seen.append(query)
        return select(query, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(registry.auth.store, "select", counted)
    return seen


def test_a_principal_is_kept_for_its_token(registry: Registry, fsp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    header = f"Bearer {registry.tokens.issue(role='fsp', subject='kept', org=fsp)}"
    reads = _reads(registry, monkeypatch)
    first = registry.auth.principal(header)
    looked_up = len(reads)
    assert looked_up and registry.auth.kept(header) == first and len(reads) == looked_up
    registry.registrations.register(SYSTEM, asset_body(fsp, importMPAN=mpan("100000088801"), serialNumber="K-1"))
    assert registry.auth.kept(header) == first  # a new asset changes nothing a principal is made of


@pytest.mark.parametrize("change", ["suspend", "deregister user"])
def test_a_write_that_may_change_it_forgets_it(registry: Registry, fsp: str, change: str) -> None:
    user, _ = registry.users.create(SYSTEM, fsp, {"name": "Kay", "email": "kay@example.org", "roles": ["ORG_ADMIN"]})
    header = f"Bearer {registry.tokens.issue(role='fsp', subject=registry.iris.identifier(user), org=fsp)}"
    registry.auth.principal(header)
    if change == "suspend":
        registry.organisations.set_status(SYSTEM, fsp, "Suspended", "late returns")
    else:
        registry.users.set_active(SYSTEM, str(user), False, "left")
    assert registry.auth.kept(header) is None
    with pytest.raises(FmarError):
        registry.auth.principal(header)


def test_a_kept_delegation_ends_when_the_delegation_does(registry: Registry, fsp: str) -> None:
    platform, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="72727272", roles=["PLATFORM"]))
    ends = datetime.now(UTC) + timedelta(seconds=1.5)
    registry.platforms.create_delegation(SYSTEM, fsp, {"platform": str(platform), "scopes": ["asset.read"],
                                                       "validFrom": "2020-01-01T00:00:00Z",
                                                       "validTo": ends.isoformat().replace("+00:00", "Z")})
    header = f"Bearer {registry.tokens.issue(role='platform', subject='p', org=str(platform))}"
    assert registry.auth.principal(header, fsp).acting_for_other
    assert registry.auth.kept(header, fsp) is not None
    time.sleep(max(ends.timestamp() - time.time(), 0) + 0.1)
    assert registry.auth.kept(header, fsp) is None
    with pytest.raises(FmarError):
        registry.auth.principal(header, fsp)
