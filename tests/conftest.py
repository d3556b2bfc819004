"""Fixtures: a registry over an in-memory Oxigraph store with reference data loaded."""

from __future__ import annotations

from typing import Any

import pytest

from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.registry import Registry

BASE = "http://testserver/"


@pytest.fixture
def registry() -> Registry:
    reg = Registry(Settings(base_iri=BASE))
    load_reference(reg)
    return reg


def org_body(**overrides: Any) -> dict[str, Any]:
    """A valid organisation submission in plain JSON."""
    body: dict[str, Any] = {
        "legalName": "Fenland Flex Ltd", "companyNumber": "01234567", "organisationType": "LTD",
        "roles": ["FSP"], "vatNumber": "GB980780684",
        "registeredAddress": {"addressLine1": "1 Fen Road", "city": "Ely", "postcode": "CB7 4AA", "country": "GB"},
        "primaryContact": {"givenName": "Ann", "familyName": "Fen", "email": "ann@fenland.example",
                           "telephone": "+441353000000"},
    }
    body.update(overrides)
    return body
