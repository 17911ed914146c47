"""Signing in with the region's identity provider: OpenID Connect's authorization code flow with
PKCE (S256), `state` and `nonce`, over `requests` and PyJWT.

/logga-in/oidc keeps the flow's random values (state, nonce, the PKCE verifier) and the page to
return to in a short-lived HttpOnly cookie of its own path and sends the browser to the identity
provider; /logga-in/oidc/klar checks the state against that cookie, redeems the code at the token
endpoint with the verifier, checks the id token's signature and nonce, and makes the access token
(the one the services check) the session once the site's authenticator accepts it. The cookie is
not signed: its values are random, only compared with what comes back, and the page to return to
is checked again, so a changed cookie only breaks its own sign-in.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import quote_plus, urlencode

import jwt
import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from shared.auth import Actor, CLOCK_SKEW_SECONDS, DEFAULT_ALGORITHMS, IdentityProviderUnavailable
from services.web.site import SESSION_COOKIE, Page, _local, public

log = logging.getLogger(__name__)

FLOW_COOKIE = "arenden_oidc"
ID_TOKEN_COOKIE = "arenden_oidc_id"  # the id token, sent only to /logga-ut: the hint for the provider's sign-out
SIGN_OUT_PATH = "/logga-ut"
FLOW_PATH = "/logga-in/oidc"
CALLBACK_PATH = "/logga-in/oidc/klar"
FLOW_SECONDS = 600  # time to sign in at the identity provider
DISCOVERY_SECONDS = 3600
SESSION_HOURS = 10  # as the token form's session; the access token's expiry ends it sooner


def code_challenge(verifier: str) -> str:
    """PKCE's S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636, 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Flow:
    """One sign-in under way: what the flow cookie holds."""

    state: str
    nonce: str
    verifier: str
    next: str = "/"

    @classmethod
    def new(cls, next_page: str) -> "Flow":
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48), _local(next_page))

    def cookie(self) -> str:
        body = json.dumps([self.state, self.nonce, self.verifier, self.next], separators=(",", ":"))
        return base64.urlsafe_b64encode(body.encode("utf-8")).rstrip(b"=").decode("ascii")

    @classmethod
    def from_cookie(cls, value: str | None) -> "Flow | None":
        if not value:
            return None
        try:
            state, nonce, verifier, next_page = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        except (ValueError, TypeError):
            return None
        if not all(isinstance(part, str) and part for part in (state, nonce, verifier, next_page)):
            return None
        return cls(state, nonce, verifier, _local(next_page))

    def state_matches(self, returned: str | None) -> bool:
        return bool(returned) and hmac.compare_digest(self.state.encode(), str(returned).encode())


class SignInFailed(Exception):
    """What the page says when a sign-in does not go through: status, title, detail (Swedish)."""

    def __init__(self, status: int, title: str, detail: str):
        self.status, self.title, self.detail = status, title, detail
        super().__init__(f"{status} {title}: {detail}")


def _unavailable(what: str) -> SignInFailed:
    return SignInFailed(503, "Inloggningen svarar inte",
                        f"Regionens inloggningstjänst går inte att nå just nu ({what}). Försök igen om en stund.")


@dataclass
class OpenIdSignIn:
    """The web app as a client of the identity provider (OIDC_ISSUER), registered as `client_id`."""

    issuer: str
    client_id: str
    public_url: str  # WEB_PUBLIC_URL: the redirect URI is this + /logga-in/oidc/klar
    client_secret: str = ""
    scopes: str = "openid profile"
    jwks_url: str = ""  # OIDC_JWKS_URL, else the discovery document's jwks_uri
    algorithms: Iterable[str] = DEFAULT_ALGORITHMS
    timeout: float = 10.0
    http: requests.Session = field(default_factory=requests.Session)
    _discovery: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _discovered_at: float = field(default=0.0, init=False, repr=False)
    _keys: jwt.PyJWKClient | None = field(default=None, init=False, repr=False)

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + CALLBACK_PATH

    def discovery(self) -> dict[str, Any]:
        """The issuer's /.well-known/openid-configuration, kept an hour."""
        if self._discovery is not None and time.monotonic() - self._discovered_at < DISCOVERY_SECONDS:
            return self._discovery
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = self.http.get(url, timeout=self.timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            log.warning("the identity provider's discovery document could not be read: %s", type(error).__name__)
            raise _unavailable("dess beskrivning gick inte att läsa") from None
        if not isinstance(document, dict) or not document.get("authorization_endpoint") \
                or not document.get("token_endpoint"):
            raise SignInFailed(502, "Inloggningen är felinställd",
                               "Inloggningstjänstens beskrivning saknar adresserna för inloggning.")
        if str(document.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
            log.error("the discovery document names another issuer: %r", document.get("issuer"))
            raise SignInFailed(502, "Inloggningen är felinställd",
                               "Inloggningstjänsten uppger en annan utfärdare än den webbplatsen är inställd på.")
        self._discovery, self._discovered_at = document, time.monotonic()
        return document

    # --- the two steps

    def authorization_url(self, flow: Flow) -> str:
        endpoint = str(self.discovery()["authorization_endpoint"])
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": self.scopes, "state": flow.state, "nonce": flow.nonce,
            "code_challenge": code_challenge(flow.verifier), "code_challenge_method": "S256",
        })
        return endpoint + ("&" if "?" in endpoint else "?") + query

    def redeem(self, code: str, flow: Flow) -> dict[str, Any]:
        """The token endpoint's answer for the code (access_token, maybe id_token), or SignInFailed."""
        document = self.discovery()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "client_id": self.client_id, "code_verifier": flow.verifier}
        auth = None
        if self.client_secret:
            methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            if "client_secret_basic" in methods:  # RFC 6749, 2.3.1: each form-encoded, then Basic
                auth = (quote_plus(self.client_id), quote_plus(self.client_secret))
            else:
                form["client_secret"] = self.client_secret
        try:
            response = self.http.post(str(document["token_endpoint"]), data=form, auth=auth,
                                      headers={"Accept": "application/json"}, timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("the token endpoint did not answer: %s", type(error).__name__)
            raise _unavailable("koden kunde inte lösas in") from None
        if response.status_code >= 500:
            log.warning("the token endpoint failed: HTTP %s", response.status_code)
            raise SignInFailed(502, "Inloggningen svarade med ett fel",
                               "Regionens inloggningstjänst svarade med ett fel. Försök igen om en stund.")
        try:
            tokens = response.json()
        except ValueError:
            tokens = {}
        if response.status_code >= 400:
            log.warning("the token endpoint refused the code: HTTP %s %s", response.status_code,
                        str(tokens.get("error", ""))[:100] if isinstance(tokens, dict) else "")
            raise SignInFailed(400, "Inloggningen godtogs inte",
                               "Inloggningstjänsten godtog inte inloggningen (koden hade redan använts eller gått "
                               "ut). Börja om.")
        if not isinstance(tokens, dict) or not tokens.get("access_token"):
            raise SignInFailed(502, "Inloggningen svarade med ett fel",
                               "Inloggningstjänsten gav ingen åtkomstnyckel.")
        return tokens

    def check_id_token(self, id_token: str, flow: Flow) -> dict[str, Any]:
        """The id token's claims: signed by the issuer's keys, for this client, with the flow's nonce."""
        try:
            key = self._key_client().get_signing_key_from_jwt(id_token)
        except jwt.PyJWKClientConnectionError:
            raise _unavailable("dess nycklar gick inte att läsa") from None
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise self._not_confirmed(f"id token key: {type(error).__name__}") from None
        try:
            claims = jwt.decode(id_token, key=key.key, algorithms=list(self.algorithms), audience=self.client_id,
                                issuer=self.issuer, leeway=CLOCK_SKEW_SECONDS,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise self._not_confirmed(f"id token: {type(error).__name__}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise self._not_confirmed("id token: azp is not this client")
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), flow.nonce.encode()):
            raise self._not_confirmed("id token: the nonce is not this sign-in's")
        return claims

    def _key_client(self) -> jwt.PyJWKClient:
        if self._keys is None:
            url = self.jwks_url or str(self.discovery().get("jwks_uri") or "")
            if not url:
                raise SignInFailed(502, "Inloggningen är felinställd", "Inloggningstjänsten publicerar inga nycklar.")
            self._keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=int(self.timeout))
        return self._keys

    @staticmethod
    def _not_confirmed(why: str) -> SignInFailed:
        log.warning("a sign-in was not confirmed: %s", why)
        return SignInFailed(400, "Inloggningen kunde inte bekräftas",
                            "Svaret från inloggningstjänsten hörde inte till den här inloggningen. Börja om.")

    def end_session_url(self, id_token: str | None) -> str | None:
        """The provider's sign-out (RP-initiated logout) when it has one, back to the sign-in page."""
        try:
            endpoint = self.discovery().get("end_session_endpoint")
        except SignInFailed:
            return None  # signed out here all the same
        if not endpoint:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": self.public_url.rstrip("/") + "/logga-in"}
        if id_token:
            query["id_token_hint"] = id_token
        return str(endpoint) + ("&" if "?" in str(endpoint) else "?") + urlencode(query)


# --- the pages

def _signin(page: Page) -> OpenIdSignIn | None:
    return page.site.settings.oidc


def _not_here(page: Page) -> Response:
    return page.site.problem_page(page, 404, "Inloggningen finns inte här",
                                  "Webbplatsen är inte inställd för regionens inloggning.")


def _failed(page: Page, failure: SignInFailed) -> Response:
    page.cookies.append((FLOW_COOKIE, "", {"max_age": 0, "path": FLOW_PATH}))
    return page.site.problem_page(page, failure.status, failure.title, failure.detail)


@public
def start(page: Page) -> Response:
    """/logga-in/oidc?next=: off to the identity provider, the flow remembered in its cookie."""
    signin = _signin(page)
    if signin is None:
        return _not_here(page)
    flow = Flow.new(page.request.args.get("next") or "/")
    try:
        location = signin.authorization_url(flow)
    except SignInFailed as failure:
        return _failed(page, failure)
    page.cookies.append((FLOW_COOKIE, flow.cookie(), {"max_age": FLOW_SECONDS, "path": FLOW_PATH}))
    return page.respond(Response(status=303, headers={"Location": location}))


@public
def finish(page: Page) -> Response:
    """/logga-in/oidc/klar?code=&state=: back from the identity provider."""
    signin = _signin(page)
    if signin is None:
        return _not_here(page)
    try:
        token, expires_at, id_token, target, actor = _finish(page, signin)
    except SignInFailed as failure:
        return _failed(page, failure)
    max_age = min(SESSION_HOURS * 3600, expires_at - int(time.time()))
    page.cookies.append((FLOW_COOKIE, "", {"max_age": 0, "path": FLOW_PATH}))
    page.cookies.append((SESSION_COOKIE, token, {"max_age": max_age}))
    page.cookies.append((ID_TOKEN_COOKIE, id_token or "", {"max_age": max_age if id_token else 0,
                                                           "path": SIGN_OUT_PATH}))
    return page.redirect(target, f"Inloggad som {actor.name}.")


def signed_out_at_provider(page: Page) -> Response | None:
    """Signing out (/logga-ut) after signing in here: the provider's sign-out too, when it has one."""
    signin, id_token = _signin(page), page.request.cookies.get(ID_TOKEN_COOKIE)
    if signin is None or not id_token:
        return None
    page.cookies.append((ID_TOKEN_COOKIE, "", {"max_age": 0, "path": SIGN_OUT_PATH}))
    location = signin.end_session_url(id_token)
    if location is None:
        return None
    return page.redirect(location, "Du är utloggad.")


def _finish(page: Page, signin: OpenIdSignIn) -> tuple[str, int, str | None, str, Actor]:
    args = page.request.args
    flow = Flow.from_cookie(page.request.cookies.get(FLOW_COOKIE))
    if args.get("error"):
        error = str(args.get("error"))[:100]
        log.info("the identity provider answered the sign-in with error=%s", error)
        if error == "temporarily_unavailable":
            raise _unavailable("den är tillfälligt otillgänglig")
        if flow is None or not flow.state_matches(args.get("state")):
            raise SignInFailed(400, "Inloggningen avbröts", "Inloggningen avbröts. Börja om.")
        if error == "access_denied":
            raise SignInFailed(400, "Inloggningen avbröts",
                               "Inloggningen avbröts eller nekades hos inloggningstjänsten.")
        raise SignInFailed(502 if error == "server_error" else 400, "Inloggningen gick inte igenom",
                           f"Inloggningstjänsten svarade: {error}. Börja om, eller kontakta supporten.")
    if flow is None:
        raise SignInFailed(400, "Inloggningen har gått ut",
                           "Inloggningen påbörjades inte här eller tog för lång tid. Börja om.")
    if not flow.state_matches(args.get("state")):
        raise SignInFailed(400, "Inloggningen hörde inte ihop",
                           "Svaret från inloggningstjänsten hörde inte till den här inloggningen. Börja om.")
    code = args.get("code")
    if not code:
        raise SignInFailed(400, "Inloggningen gick inte igenom", "Inloggningstjänsten skickade ingen kod. Börja om.")
    tokens = signin.redeem(code, flow)
    id_token = tokens.get("id_token")
    if id_token:
        signin.check_id_token(str(id_token), flow)
    token = str(tokens["access_token"])
    try:
        actor = page.site.actor_for(token)
    except IdentityProviderUnavailable:
        raise _unavailable("dess nycklar gick inte att läsa") from None
    if actor is None:
        raise SignInFailed(401, "Inloggningen gäller inte här",
                           "Inloggningstjänsten gav en åtkomstnyckel som ärendetjänsterna inte godtar "
                           "(fel mottagare eller utfärdare). Kontakta supporten.")
    try:  # the session ends when the token does
        expires_at = int(jwt.decode(token, options={"verify_signature": False})["exp"])  # verified above
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        try:
            expires_at = int(time.time()) + int(tokens.get("expires_in") or 300)
        except (TypeError, ValueError):
            expires_at = int(time.time()) + 300
    if expires_at <= time.time():
        raise SignInFailed(401, "Inloggningen har gått ut", "Åtkomstnyckeln hade redan gått ut. Börja om.")
    return token, expires_at, str(id_token) if id_token else None, flow.next, actor


routes = [
    Rule(FLOW_PATH, methods=["GET"], endpoint=start),
    Rule(CALLBACK_PATH, methods=["GET"], endpoint=finish),
]
