"""Company verification (UC-01.02 step 3): pluggable; offline format-only by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from fmar.config import Settings
from fmar.errors import FmarError


class CompanyRegisterUnavailable(FmarError):
    status, slug, title = 503, "company-register-unavailable", "The company register could not be reached"


@dataclass(frozen=True)
class CompanyCheck:
    """What the register says of a company number."""

    found: bool
    active: bool
    name: str | None = None


class CompanyVerifier(Protocol):
    def verify(self, company_number: str) -> CompanyCheck | None:
        """The register's answer, or None when this verifier checks format only."""


class OfflineVerifier:
    """Format-only: the SHACL pattern has already checked the number."""

    def verify(self, company_number: str) -> CompanyCheck | None:
        return None


class CompaniesHouseVerifier:
    """An adapter for a Companies House style API: ``GET {base}/company/{number}`` with the key as Basic user."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 5.0) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/"), auth=(api_key, ""), timeout=timeout)

    def verify(self, company_number: str) -> CompanyCheck | None:
        try:
            response = self.client.get(f"/company/{company_number}")
        except httpx.HTTPError as exc:
            raise CompanyRegisterUnavailable(f"company register error: {exc}") from exc
        if response.status_code == 404:
            return CompanyCheck(found=False, active=False)
        if response.status_code != 200:
            raise CompanyRegisterUnavailable(f"company register answered {response.status_code}")
        body = response.json()
        return CompanyCheck(found=True, active=body.get("company_status") == "active",
                            name=body.get("company_name"))


def make_verifier(settings: Settings) -> CompanyVerifier:
    """The verifier the settings name."""
    if settings.company_verifier == "companies-house":
        if not settings.companies_house_key:
            raise ValueError("FMAR_COMPANIES_HOUSE_KEY is needed for the companies-house verifier")
        return CompaniesHouseVerifier(settings.companies_house_url, settings.companies_house_key)
    if settings.company_verifier != "offline":
        raise ValueError(f"unknown company verifier {settings.company_verifier!r}")
    return OfflineVerifier()
