"""Tokens verified against a JWKS endpoint (an identity provider's published keys), served for real."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from pmo_devstack.keys import ensure_dev_keys
from pmo_servicekit.auth import Authenticator
from pmo_servicekit.settings import ServiceSettings


@pytest.fixture
def identity_provider(tmp_path: Path) -> Iterator[tuple[bytes, str]]:
    private_path, _ = ensure_dev_keys(tmp_path)
    private = load_pem_private_key(private_path.read_bytes(), password=None)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]
    body = json.dumps({"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield private_path.read_bytes(), f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def test_tokens_are_verified_with_the_published_key_set(identity_provider: tuple[bytes, str]) -> None:
    private_pem, url = identity_provider
    auth = Authenticator(ServiceSettings(env="production", auth_jwks_url=url, auth_issuer="https://idp.example"))
    claims = {"sub": "bob", "roles": ["board_member"], "iss": "https://idp.example", "aud": "pmo", "exp": 4102444800}
    token = jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": "key-1"})
    principal = auth.verify(token)
    assert (principal.subject, principal.roles) == ("bob", frozenset({"board_member"}))
    forged = jwt.encode(
        {**claims, "iss": "https://evil.example"}, private_pem, algorithm="RS256", headers={"kid": "key-1"}
    )
    with pytest.raises(jwt.InvalidIssuerError):
        auth.verify(forged)
