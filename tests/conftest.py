"""Fixtures: a registry over an in-memory Oxigraph store with reference data loaded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.ntriples import quad_line
from fmar.registry import Registry, build
from fmar.store import Quad, Store

BASE = "http://testserver/"


@pytest.fixture
def registry() -> Registry:
    reg = build(Settings(base_iri=BASE))
    load_reference(reg.write, reg.iris, reg.settings)
    return reg


def put_quads(store: Store, quads: Iterable[Quad]) -> None:
    """Write quads straight to the store, around the write path (setting up what a later module will record)."""
    store.write("", "".join(quad_line(*q) for q in quads))


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


def mpan(prefix: str) -> str:
    """A 13-digit MPAN core with a valid check digit, from its first 12 digits."""
    from fmar.validation.rules import MPAN_WEIGHTS

    total = sum(int(d) * w for d, w in zip(prefix, MPAN_WEIGHTS, strict=True))
    return prefix + str(total % 11 % 10)


def asset_body(operated_by: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid BESS submission in plain JSON (Eastern area); ``None`` overrides remove a term."""
    from datetime import date

    body: dict[str, Any] = {
        "assetName": "Home battery 1", "assetCategory": "BESS", "ratedCapacity": 5, "storageCapacity": 13.5,
        "importMPAN": mpan("100000000001"), "serialNumber": "PW-0001", "dno": "UKPN_EPN",
        "connectionStatus": "CONNECTED", "commissioningDate": "2024-05-01", "effectiveDate": date.today().isoformat(),
        "connectionType": "FIRM", "ownerType": "DOMESTIC", "postcode": "CB7 4AA", "manufacturer": "Tesla",
        "assetModel": "Powerwall 2",
    }
    if operated_by is not None:
        body["operatedBy"] = operated_by
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
