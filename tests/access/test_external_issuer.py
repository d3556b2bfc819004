"""An external token issuer, verified by its JWKS URL (served on 127.0.0.1)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fmar.access.tokens import TokenService
from fmar.config import Settings
from fmar.errors import Unauthorized
from tests.local_http import local_server


@pytest.fixture
def issuer() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "ext-1", "use": "sig", "alg": "RS256"}]}).encode()

    with local_server(lambda path, headers: (200, jwks, "application/json")) as (base, _):
        yield f"{base}/jwks.json", key


def _token(key: object, **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": "https://idp.example", "aud": "fmar", "sub": "alice", "role": "regulator", "iat": now,
               "exp": now + 60, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "ext-1"})  # type: ignore[arg-type]


def test_tokens_of_the_external_issuer_are_accepted(issuer: tuple[str, rsa.RSAPrivateKey]) -> None:
    url, key = issuer
    service = TokenService(Settings(jwks_url=url, token_issuer="https://idp.example"))
    assert service.verify(_token(key))["sub"] == "alice"


def test_other_tokens_are_refused_when_an_external_issuer_is_set(issuer: tuple[str, rsa.RSAPrivateKey]) -> None:
    url, key = issuer
    service = TokenService(Settings(jwks_url=url, token_issuer="https://idp.example"))
    own = service.issue(role="admin", subject="root")  # signed by the registry's key, which is not trusted now
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (own, _token(other_key), _token(key, iss="https://elsewhere.example"), _token(key, exp=1, iat=0)):
        with pytest.raises(Unauthorized):
            service.verify(token)
