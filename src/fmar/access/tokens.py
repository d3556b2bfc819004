"""OAuth2 bearer JWTs: issued with the registry's own key, or verified against an external JWKS."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fmar.config import Settings
from fmar.errors import Unauthorized

ALGORITHM = "ES256"


def load_or_create_key(path: Path | None) -> ec.EllipticCurvePrivateKey:
    """The registry's signing key (P-256), created on first use and kept private to the owner."""
    if path is not None and path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    return key


class TokenService:
    """Issues and verifies tokens. With ``jwks_url`` set, verification trusts that issuer instead."""

    def __init__(self, settings: Settings, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.settings = settings
        self.key = key or load_or_create_key(settings.key_path)
        public = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = uuid.uuid5(uuid.NAMESPACE_OID, public.hex()).hex[:16]
        self._jwks_client = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(self, *, role: str, subject: str, org: str | None = None, ttl: int | None = None,
              extra: dict[str, Any] | None = None) -> str:
        """A signed token for ``role`` (and ``org``), valid for ``ttl`` seconds."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.settings.token_issuer, "aud": self.settings.token_audience,
                                  "sub": subject, "role": role, "iat": now, "nbf": now,
                                  "exp": now + (ttl or self.settings.token_ttl_seconds),
                                  "jti": str(uuid.uuid4())}
        if org:
            claims["org"] = org
        claims.update(extra or {})
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or 401 with the reason. A signature is checked once per token (clients
        reuse theirs); expiry is checked on every use, and the registry's state by the authenticator."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached["exp"] > time.time():
                return cached
            self._verified.pop(token, None)
        claims = self._decode(token)
        if len(self._verified) >= 10_000:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            if self._jwks_client is not None:
                signing_key: Any = self._jwks_client.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "PS256", "EdDSA"]
            else:
                signing_key, algorithms = self.key.public_key(), [ALGORITHM]
            claims: dict[str, Any] = jwt.decode(
                token, signing_key, algorithms=algorithms, audience=self.settings.token_audience,
                issuer=self.settings.token_issuer, options={"require": ["exp", "iat", "sub", "role"]})
        except jwt.ExpiredSignatureError as exc:
            raise invalid_token("the token has expired") from exc
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise invalid_token(f"the token is not valid: {exc}") from exc
        return claims

    def jwks(self) -> dict[str, Any]:
        """The public key set of the registry's own tokens."""
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}


def invalid_token(detail: str) -> Unauthorized:
    return Unauthorized(detail, headers={"WWW-Authenticate": f'Bearer realm="fmar", error="invalid_token", '
                                                            f'error_description="{detail[:120]}"'})
