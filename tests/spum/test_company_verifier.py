"""The Companies House style verifier, against a register served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fmar.access.principal import SYSTEM
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.errors import ValidationFailed
from fmar.registry import Registry
from fmar.spum.company import CompanyRegisterUnavailable
from tests.conftest import org_body

REGISTER = {"01234567": "active", "07654321": "dissolved"}


@pytest.fixture
def register() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            number = self.path.rsplit("/", 1)[-1]
            if number == "99999999":
                self.send_response(500)
                self.end_headers()
                return
            if number not in REGISTER:
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps({"company_number": number, "company_status": REGISTER[number],
                               "company_name": "X LTD"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def checked(register: tuple[str, list[str]]) -> Registry:
    reg = Registry(Settings(base_iri="http://testserver/", company_verifier="companies-house",
                            companies_house_url=register[0], companies_house_key="test-key"))
    load_reference(reg)
    return reg


def test_an_active_company_is_accepted(checked: Registry, register: tuple[str, list[str]]) -> None:
    checked.organisations.create(SYSTEM, org_body(companyNumber="01234567"))
    assert register[1] and register[1][0].startswith("Basic ")


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


def test_format_errors_are_reported_before_asking_the_register(checked: Registry, register: tuple[str, list[str]]) -> None:
    with pytest.raises(ValidationFailed):
        checked.organisations.create(SYSTEM, org_body(companyNumber="12"))
    assert register[1] == []
