"""Authentication as in production: OpenID Connect tokens verified against the issuer's JWKS,
static tokens by digest, and a service that will not start without credentials.

The identity provider is this test: it makes an RSA key pair, serves the public half as a
JWKS over HTTP, and signs the tokens. The service runs in nameko's container on SQLite.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from typing import Any, Iterator

import eventlet
import eventlet.wsgi
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.initiatives.demo import seed_000
from services.initiatives.service import InitiativesService
from tests.integration.conftest import running
from tests.support.infrastructure import Infrastructure
from tests.support.services import REPO_ROOT, Api, api_for, assert_problem, free_port, service_config

ISSUER = "https://login.region.example/realms/regional-development"
AUDIENCE = "regional-cases"
KEY_ID = "test-key-1"


class IdentityProvider:
    """Signs tokens with its key and publishes the public key as a JWKS at `jwks_url`."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}
        self.jwks_requests = 0
        listener = eventlet.listen(("127.0.0.1", 0))
        self.jwks_url = f"http://127.0.0.1:{listener.getsockname()[1]}/protocol/openid-connect/certs"
        self.server = eventlet.spawn(eventlet.wsgi.server, listener, self._serve, log_output=False)

    def _serve(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.jwks_requests += 1
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(self.jwks).encode()]

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": ISSUER, "aud": AUDIENCE, "sub": "5f0c7c1e-registrar", "name": "Rut Registrator",
                "roles": ["registrar", "case_officer", "auditor", "offline_access"], "iat": now,
                "exp": now + 300, **changes}

    def token(self, key: Any = None, algorithm: str = "RS256", **changes: Any) -> str:
        return jwt.encode(self.claims(**changes), key or self.key, algorithm=algorithm, headers={"kid": KEY_ID})

    def stop(self) -> None:
        self.server.kill()


@pytest.fixture
def identity_provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.stop()


@pytest.fixture
def oidc_api(container_factory: Any, infrastructure: Infrastructure, identity_provider: IdentityProvider,
             tmp_path: Any) -> Iterator[Api]:
    infrastructure.purge_inboxes()
    config = service_config(
        infrastructure.amqp_uri, {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)},
        OIDC_ISSUER=ISSUER, OIDC_AUDIENCE=AUDIENCE, OIDC_JWKS_URL=identity_provider.jwks_url,
    )
    for _ in running(container_factory, InitiativesService, config):
        yield api_for(config)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_token_of_the_issuer_is_accepted_and_its_name_and_subject_are_recorded(
        oidc_api: Api, identity_provider: IdentityProvider) -> None:
    token = identity_provider.token()
    submitted = oidc_api.post("/initiatives", None, seed_000()["submission"], headers=_bearer(token))
    assert submitted.status_code == 201, submitted.text

    history = oidc_api.get(f"/initiatives/{submitted.json()['id']}/history", None, headers=_bearer(token)).json()
    assert history["events"][0]["actor"] == "Rut Registrator (5f0c7c1e-registrar)"
    assert identity_provider.jwks_requests == 1  # the keys are cached, not fetched per request


def test_a_role_the_token_does_not_carry_is_forbidden(oidc_api: Api, identity_provider: IdentityProvider) -> None:
    only_auditor = identity_provider.token(roles=["auditor"])
    refused = oidc_api.post("/initiatives", None, seed_000()["submission"], headers=_bearer(only_auditor))
    assert assert_problem(refused, 403)["detail"].startswith("Rut Registrator has roles ['auditor']")


def _forged_tokens(provider: IdentityProvider) -> dict[str, str]:
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header, payload, signature = provider.token().split(".")
    unsigned = f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': KEY_ID})}.{payload}."
    altered_payload = _segment(provider.claims(roles=["registrar", "secretary", "auditor"]))
    return {
        "expired": provider.token(iat=now - 3600, exp=now - 1800),
        "wrong audience": provider.token(aud="another-system"),
        "wrong issuer": provider.token(iss="https://login.elsewhere.example/"),
        "alg none": unsigned,
        "wrong key": provider.token(key=other_key),
        "altered": f"{header}.{altered_payload}.{signature}",
        "HS256 keyed with the public key": _hmac_with_public_key(provider),
        "no subject": provider.token(sub=None),
        "ES256 named with the RSA key's kid": _with_header(provider, {"alg": "ES256", "typ": "JWT", "kid": KEY_ID}),
        "EdDSA named with the RSA key's kid": _with_header(provider, {"alg": "EdDSA", "typ": "JWT", "kid": KEY_ID}),
        "not a JWT": "a.b",
    }


def _with_header(provider: IdentityProvider, header: dict[str, Any]) -> str:
    """A token signed by the issuer's key whose header names another algorithm."""
    _, payload, signature = provider.token().split(".")
    return f"{_segment(header)}.{payload}.{signature}"


def _hmac_with_public_key(provider: IdentityProvider) -> str:
    """The algorithm-confusion attack: HS256 with the public key as the shared secret."""
    public_pem = provider.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = _segment({"alg": "HS256", "typ": "JWT", "kid": KEY_ID})
    payload = _segment(provider.claims())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_forged_expired_and_misaddressed_tokens_get_401_problem(oidc_api: Api,
                                                                identity_provider: IdentityProvider) -> None:
    for why, token in _forged_tokens(identity_provider).items():
        refused = oidc_api.post("/initiatives", None, seed_000()["submission"], headers=_bearer(token))
        problem = assert_problem(refused, 401)
        assert refused.headers["WWW-Authenticate"].startswith("Bearer"), why
        assert token not in problem["detail"], why
    listed = oidc_api.get("/initiatives", None, headers=_bearer(identity_provider.token())).json()
    assert listed["initiatives"] == []  # nothing was written by any refused request


def _nameko_run(extra_env: dict[str, str], tmp_path: Any) -> subprocess.CompletedProcess[str] | None:
    """`nameko run` as an operator starts it; None if it was still running after 20 s (it started),
    and then an auditor's development token was answered 200."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OIDC_", "AUTH_", "DEVELOPMENT"))}
    env.update(WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}", DATA_DIR=str(tmp_path), **extra_env)
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    log_path = tmp_path / "nameko.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [nameko, "run", "--config", "services/initiatives/config.yml", "services.initiatives.service"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    try:
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if process.poll() is not None:
            return subprocess.CompletedProcess(process.args, process.returncode, log_path.read_text())
        url = f"http://{env['WEB_SERVER_ADDRESS']}/initiatives"
        assert requests.get(url, headers=_bearer("dev-auditor"), timeout=5).status_code == 200
        return None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("given, named", [
    ({}, "OIDC_ISSUER"),
    ({"AUTH_TOKENS": '{"secret": {"actor": "X", "roles": ["auditor"]}}'}, "AUTH_TOKEN_DIGESTS"),
    ({"AUTH_TOKEN_DIGESTS": '{"secret": {"actor": "X", "roles": ["auditor"]}}'}, "SHA-256"),
    ({"OIDC_ISSUER": ISSUER}, "OIDC_AUDIENCE"),
])
def test_a_service_without_credentials_refuses_to_start_and_names_what_to_set(
        given: dict[str, str], named: str, tmp_path: Any) -> None:
    exited = _nameko_run(given, tmp_path)
    assert exited is not None, "the service started without credentials"
    assert exited.returncode != 0
    assert named in exited.stdout


def test_with_the_development_flag_the_service_starts_and_takes_the_development_tokens(tmp_path: Any) -> None:
    assert _nameko_run({"DEVELOPMENT": "true"}, tmp_path) is None
