"""The Companies House style verifier, against a register served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fmar.access.principal import SYSTEM
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.errors import ValidationFailed
from fmar.registry import Registry, build
from fmar.spum.company import CompanyRegisterUnavailable
from tests.conftest import org_body
from tests.local_http import local_server

Served = tuple[str, list[tuple[str, dict[str, str]]]]
REGISTER = {"01234567": "active", "07654321": "dissolved"}


def _register(path: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
    number = path.rsplit("/", 1)[-1]
    if number == "99999999":
        return 500, b"", "text/plain"
    if number not in REGISTER:
        return 404, b"", "text/plain"
    body = {"company_number": number, "company_status": REGISTER[number], "company_name": "X LTD"}
    return 200, json.dumps(body).encode(), "application/json"


@pytest.fixture
def register() -> Iterator[Served]:
    with local_server(_register) as served:
        yield served


@pytest.fixture
def checked(register: Served) -> Registry:
    reg = build(Settings(base_iri="http://testserver/", company_verifier="companies-house",
                            companies_house_url=register[0], companies_house_key="test-key"))
    load_reference(reg.write, reg.iris, reg.settings)
    return reg


def test_an_active_company_is_accepted(checked: Registry, register: Served) -> None:
    checked.organisations.create(SYSTEM, org_body(companyNumber="01234567"))
    assert register[1] and register[1][0][1]["Authorization"].startswith("Basic ")


@pytest.mark.parametrize("number", ["07654321", "11111111"], ids=["dissolved", "not-on-register"])
def test_inactive_or_unknown_companies_are_refused(checked: Registry, number: str) -> None:
    before = set(checked.store.quads())
    with pytest.raises(ValidationFailed) as exc:
        checked.organisations.create(SYSTEM, org_body(companyNumber=number))
    assert exc.value.extensions["errors"][0]["path"] == "companyNumber"
    assert set(checked.store.quads()) == before


def test_register_failure_is_503_and_changes_nothing(checked: Registry) -> None:
    before = set(checked.store.quads())
    with pytest.raises(CompanyRegisterUnavailable) as exc:
        checked.organisations.create(SYSTEM, org_body(companyNumber="99999999"))
    assert exc.value.status == 503
    assert set(checked.store.quads()) == before


def test_format_errors_are_reported_before_asking_the_register(checked: Registry, register: Served) -> None:
    with pytest.raises(ValidationFailed):
        checked.organisations.create(SYSTEM, org_body(companyNumber="12"))
    assert register[1] == []
