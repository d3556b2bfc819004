"""Settings: every option comes from the environment (``FMAR_*``) or the command line."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Registry settings; build one per app or command, never at import time."""

    model_config = SettingsConfigDict(env_prefix="FMAR_", env_ignore_empty=True, extra="ignore")

    data_dir: Path | None = Field(default=None, description="Data directory; None keeps the store in memory.")
    base_iri: str = Field(default="http://127.0.0.1:8000/", description="Prefix of every record IRI.")
    resource_dir: Path = Field(default=REPO_ROOT, description="Where ontology/, shapes/ and data/ live.")
    max_body_bytes: int = Field(default=1_048_576, description="Largest request body accepted (413 above).")
    bulk_max_body_bytes: int = Field(default=32 * 1_048_576, description="Largest bulk upload (413 above).")
    bulk_batch_size: int = Field(default=2000, ge=1, description="Records a bulk upload stores at a time (one audit "
                                 "event each; a streamed report gives a batch's lines as it is stored).")
    token_ttl_seconds: int = Field(default=3600, description="Lifetime of tokens the registry issues.")
    token_issuer: str = Field(default="fmar", description="`iss` of tokens the registry issues or accepts.")
    token_audience: str = Field(default="fmar", description="`aud` of tokens the registry issues or accepts.")
    jwks_url: str | None = Field(default=None, description="Verify tokens of an external issuer by this JWKS URL.")
    material_change_share: float = Field(default=0.10, ge=0, description="Rated capacity move that makes an update material.")
    validator: str = Field(default="compiled", description="'compiled' (fast) or 'pyshacl' (the reference).")
    sparql_time_limit: float = Field(default=10.0, gt=0, description="Seconds a SPARQL query may run.")
    sparql_row_cap: int = Field(default=100_000, ge=1, description="Most rows (or triples) a SPARQL answer may have.")
    sparql_max_query_bytes: int = Field(default=65_536, ge=1, description="Longest SPARQL query or update (413 above).")
    sparql_workers: int = Field(default=4, ge=1, description="Queries that may run at once (the rest wait); on disk, "
                                "each runs in a worker process that is stopped at the time limit.")
    sparql_anonymous_queries: int = Field(default=2, ge=1, description="Queries one anonymous client may run at once.")
    sparql_anonymous_seconds: float = Field(default=30.0, gt=0, description="Query time one anonymous client may "
                                            "spend in a window (429 with Retry-After beyond it).")
    sparql_anonymous_window: float = Field(default=60.0, gt=0, description="The window of the anonymous budget (s).")
    audit_retention_days: int | None = Field(default=None, ge=1, description="`fmar audit archive` moves events "
                                             "older than this to signed files (None: keep every event in the store).")
    company_verifier: str = Field(default="offline", description="'offline' (format only) or 'companies-house'.")
    companies_house_url: str = Field(default="https://api.company-information.service.gov.uk")
    companies_house_key: str | None = None

    @property
    def store_path(self) -> Path | None:
        """The on-disk Oxigraph directory, or None for an in-memory store."""
        return None if self.data_dir is None else self.data_dir / "store"

    @property
    def archive_dir(self) -> Path | None:
        """Where archived audit events are written (signed N-Quads files)."""
        return None if self.data_dir is None else self.data_dir / "audit-archive"

    @property
    def key_path(self) -> Path | None:
        """The registry's token signing key, kept in the data directory."""
        return None if self.data_dir is None else self.data_dir / "keys" / "signing-key.pem"

    def resource(self, *parts: str) -> Path:
        """A file or folder under the resource directory (ontology/, shapes/, data/)."""
        return self.resource_dir.joinpath(*parts)
