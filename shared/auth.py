"""Who is asking: bearer tokens verified, mapped to an actor and roles. Fails closed.

Production: OpenID Connect access tokens (JWT) signed by the region's identity
provider, verified against its JWKS (PyJWT): signature, expiry, audience and issuer;
roles come from a configurable claim (dotted path, e.g. `realm_access.roles`), the
actor recorded in events from the name claim and the subject. Beside them, or
instead, static tokens for machines (the audit service, scripts), configured only as
SHA-256 digests (`AUTH_TOKEN_DIGESTS`): the configuration never holds a usable token.

Development (`DEVELOPMENT=true`, set by `make run`) also accepts the plain-text
tokens of the config file's `DEVELOPMENT_TOKENS` table; outside development they are
ignored. A service refuses to start when it has no way to authenticate anyone, and
when it is given tokens in plain text (`AUTH_TOKENS`, no longer read).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

import jwt
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from shared import context
from shared.errors import CaseError, Forbidden, Unauthenticated
from shared.settings import env_flag

log = logging.getLogger(__name__)

ROLES = ("registrar", "case_officer", "secretary", "strategist", "auditor")
DEFAULT_ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")
CLOCK_SKEW_SECONDS = 30
JWKS_CACHE_SECONDS = 300


class ConfigurationError(RuntimeError):
    """The service cannot start as configured; the message says what to set."""


class IdentityProviderUnavailable(CaseError):
    status = 503
    title = "The identity provider's keys could not be read"
    problem_type = "/problems/identity-provider-unavailable"


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str]
    subject: str | None = None  # the token's `sub`: stable where names change

    @property
    def recorded_as(self) -> str:
        """The actor as events record it: the name, and the subject where the token has one."""
        return f"{self.name} ({self.subject})" if self.subject and self.subject != self.name else self.name


class TokenVerifier(Protocol):
    def actor_for(self, token: str) -> Actor | None:
        """The token's actor; None when this verifier does not know the token."""


def _known_roles(roles: Iterable[str], where: str) -> frozenset[str]:
    roles = frozenset(roles)
    unknown = roles - set(ROLES)
    if unknown:
        raise ConfigurationError(f"Unknown roles in {where}: {sorted(unknown)}; the roles are {list(ROLES)}")
    return roles


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PlainTokens:
    """Development tokens, in plain text (the config file's DEVELOPMENT_TOKENS)."""

    def __init__(self, tokens: Mapping[str, Mapping[str, Any]]):
        self._actors = {
            token: Actor(str(entry["actor"]), _known_roles(entry.get("roles", ()), "DEVELOPMENT_TOKENS"))
            for token, entry in tokens.items()
        }

    def actor_for(self, token: str) -> Actor | None:
        return self._actors.get(token)


class TokenDigests:
    """Static tokens known only by their SHA-256 digest (AUTH_TOKEN_DIGESTS)."""

    def __init__(self, digests: Mapping[str, Mapping[str, Any]]):
        self._actors: dict[str, Actor] = {}
        for digest, entry in digests.items():
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
                raise ConfigurationError(
                    "AUTH_TOKEN_DIGESTS keys must be SHA-256 hex digests of the tokens (64 hex digits), "
                    "never the tokens themselves")
            self._actors[digest.lower()] = Actor(str(entry["actor"]),
                                                 _known_roles(entry.get("roles", ()), "AUTH_TOKEN_DIGESTS"))

    def actor_for(self, token: str) -> Actor | None:
        return self._actors.get(token_digest(token))


class OpenIdTokens:
    """Access tokens (JWT) of an OpenID Connect issuer, verified against its published keys."""

    def __init__(self, *, issuer: str, audience: str, jwks_url: str | None = None,
                 roles_claim: str = "roles", actor_claim: str = "name",
                 algorithms: Iterable[str] = DEFAULT_ALGORITHMS):
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        self.actor_claim = actor_claim
        self.algorithms = list(algorithms)
        if "none" in {a.lower() for a in self.algorithms}:
            raise ConfigurationError("OIDC_ALGORITHMS must not include 'none'")
        self._jwks_url = jwks_url or None
        self._keys: jwt.PyJWKClient | None = None

    def _key_client(self) -> jwt.PyJWKClient:
        if self._keys is None:
            self._keys = jwt.PyJWKClient(self._jwks_url or self._discovered_jwks_url(),
                                         cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=5)
        return self._keys

    def _discovered_jwks_url(self) -> str:
        """The issuer's jwks_uri, from its OpenID Connect discovery document."""
        import requests

        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            return str(requests.get(url, timeout=5).json()["jwks_uri"])
        except (requests.RequestException, ValueError, KeyError) as error:
            raise IdentityProviderUnavailable(f"{url} did not give a jwks_uri: {error}") from error

    def actor_for(self, token: str) -> Actor | None:
        if token.count(".") != 2:
            return None  # not a JWT: another verifier's
        try:
            key = self._key_client().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise IdentityProviderUnavailable(str(error)) from error
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise Unauthenticated(f"The bearer token was not signed by a key of the issuer: {error}") from error
        try:
            claims = jwt.decode(
                token, key=key.key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS, options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            # PyJWT raises TypeError or InvalidKeyError when the header names an algorithm of another key
            # type (ES256 or EdDSA with an RSA key's kid): forged all the same
            raise Unauthenticated(f"The bearer token is not valid: {type(error).__name__}") from error
        roles = frozenset(r for r in _claim(claims, self.roles_claim) or () if r in ROLES)
        subject = str(claims["sub"])
        name = claims.get(self.actor_claim) or claims.get("preferred_username") or subject
        return Actor(name=str(name), roles=roles, subject=subject)


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, str):
        return value.split()
    return value if isinstance(value, (list, tuple)) else None


class Authenticator:
    """Asks each configured verifier in turn; a token none of them knows is refused."""

    def __init__(self, verifiers: Iterable[TokenVerifier]):
        self.verifiers = list(verifiers)

    def authenticate(self, request: Request) -> Actor:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Send 'Authorization: Bearer <token>'")
        actor = self.actor_for(token)
        if actor is None:
            raise Unauthenticated("The bearer token is not known")
        context.note(actor=actor.recorded_as)
        return actor

    def actor_for(self, token: str) -> Actor | None:
        """Whom a token stands for, or None when no verifier knows it (the web app's session holds one)."""
        for verifier in self.verifiers:
            actor = verifier.actor_for(token)
            if actor is not None:
                return actor
        return None

    def authorize(self, request: Request, allowed_roles: Iterable[str]) -> Actor:
        actor = self.authenticate(request)
        allowed = frozenset(allowed_roles)
        if not actor.roles & allowed:
            raise Forbidden(
                f"{actor.name} has roles {sorted(actor.roles)}; this needs one of {sorted(allowed)}"
            )
        return actor


def _table(value: Any, name: str) -> dict[str, Any]:
    """A JSON object given in the environment (a string) or in the config file (a mapping)."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ConfigurationError(f"{name} is not JSON: {error}") from error
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a JSON object")
    return dict(value)


def authenticator_from(config: Mapping[str, Any]) -> Authenticator:
    """The verifiers the configuration asks for; refuses a configuration that would let anyone in
    with a published token, or no one at all."""
    development = env_flag(config, "DEVELOPMENT", False)
    verifiers: list[TokenVerifier] = []
    issuer, audience = config.get("OIDC_ISSUER") or "", config.get("OIDC_AUDIENCE") or ""
    if issuer or audience:
        if not (issuer and audience):
            raise ConfigurationError("Set both OIDC_ISSUER and OIDC_AUDIENCE (and OIDC_JWKS_URL unless the "
                                     "issuer publishes it by OpenID Connect discovery)")
        algorithms = [a.strip() for a in str(config.get("OIDC_ALGORITHMS") or "").split(",") if a.strip()]
        verifiers.append(OpenIdTokens(
            issuer=issuer, audience=audience, jwks_url=config.get("OIDC_JWKS_URL") or None,
            roles_claim=config.get("OIDC_ROLES_CLAIM") or "roles",
            actor_claim=config.get("OIDC_ACTOR_CLAIM") or "name",
            algorithms=algorithms or DEFAULT_ALGORITHMS,
        ))
    digests = _table(config.get("AUTH_TOKEN_DIGESTS"), "AUTH_TOKEN_DIGESTS")
    if digests:
        verifiers.append(TokenDigests(digests))
    if config.get("AUTH_TOKENS"):
        raise ConfigurationError(
            "AUTH_TOKENS (tokens in plain text) is no longer read: configure AUTH_TOKEN_DIGESTS, the SHA-256 "
            "digests of the tokens (`printf %s TOKEN | sha256sum`), or OIDC_ISSUER/OIDC_AUDIENCE")
    if development:
        verifiers.append(PlainTokens(_table(config.get("DEVELOPMENT_TOKENS"), "DEVELOPMENT_TOKENS")))
    if not verifiers:
        raise ConfigurationError(
            "No way to authenticate anyone: set OIDC_ISSUER and OIDC_AUDIENCE (OpenID Connect) and/or "
            "AUTH_TOKEN_DIGESTS, or DEVELOPMENT=true to use the development tokens")
    if development:
        log.warning("DEVELOPMENT=true: the development tokens of the config file are accepted")
    return Authenticator(verifiers)


class Auth(DependencyProvider):
    def setup(self) -> None:
        self.authenticator = authenticator_from(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Authenticator:
        return self.authenticator
