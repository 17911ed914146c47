"""The web app's own behaviour, with real services in this process: sign-in with OpenID Connect
against an identity provider served by this test, sessions and sign-out, forms refused from
other origins, a service that is down, and text from the services shown escaped.

The initiatives service runs in nameko's container (SQLite: the web app keeps no data, one store
is enough); the web app runs beside it, reaching it over HTTP as in production. The identity
provider is this test, as in test_authentication: its key signs the tokens, its JWKS, discovery
document, authorization and token endpoints are served over HTTP.
"""
from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from services.initiatives.demo import seed_000
from services.initiatives.service import InitiativesService
from services.web.service import WebService
from services.web.signin import FLOW_COOKIE, code_challenge
from tests.integration.conftest import running
from tests.integration.test_authentication import KEY_ID, IdentityProvider
from tests.support.infrastructure import Infrastructure
from tests.support.services import Api, api_for, free_port, service_config
from tests.support.web import closed_url, web_config

AUDIENCE = "regional-cases"
CLIENT_ID = "arenden-web"
CLIENT_SECRET = "web-client-secret"
SESSION = "arenden_session"
PERSON = "Ingrid Inloggad"


@pytest.fixture
def store_config(tmp_path: Any) -> dict[str, Any]:
    """One store: what is tested here is the web app, which keeps no data."""
    return {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "data")}


class Browser:
    """A requests.Session as a browser uses the site: cookies kept, forms sent with the site's Origin."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.get(self.base_url + path, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, origin: str | None = "own",
             **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if origin == "own":
            headers["Origin"] = self.base_url
        elif origin is not None:
            headers["Origin"] = origin
        kwargs.setdefault("timeout", 30)
        return self.session.post(self.base_url + path, data=data or {}, headers=headers, **kwargs)

    def sign_in(self, token: str = "test-registrar", next_page: str = "/arenden") -> requests.Response:
        return self.post("/logga-in", {"token": token, "next": next_page})


def set_cookies(response: requests.Response) -> dict[str, str]:
    """The Set-Cookie headers of one response, by cookie name (the raw header, flags and all)."""
    headers = response.raw.headers.getlist("Set-Cookie") if response.raw is not None else []
    return {header.split("=", 1)[0]: header for header in headers}


def no_stack_trace(response: requests.Response) -> None:
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.fixture
def web(container: Any, config: dict[str, Any], container_factory: Any, infrastructure: Infrastructure) -> Browser:
    """The web app over the initiatives service; the audit service (and the others) down."""
    web = container_factory(WebService, web_config(infrastructure.amqp_uri, {"initiatives": api_for(config).base_url}))
    web.start()
    return Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")


@pytest.fixture
def signed_in(web: Browser) -> Browser:
    assert web.sign_in().status_code == 200
    return web


def submitted(api: Api, **changes: Any) -> dict[str, Any]:
    return api.command("/initiatives", "registrar", {**seed_000()["submission"], **changes})


# --- sessions


def test_without_a_session_every_page_redirects_to_sign_in_with_the_page_to_return_to(web: Browser) -> None:
    case_id = uuid.uuid4()
    for path in ("/", "/arenden", "/arenden?q=samverkan&state=registered", "/arenden/nytt", f"/arenden/{case_id}"):
        response = web.get(path, allow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/logga-in?" + urlencode({"next": path}), path
    posted = web.post(f"/arenden/{case_id}/register", allow_redirects=False)
    assert posted.status_code == 303 and posted.headers["Location"].startswith("/logga-in?")

    sign_in_page = web.get("/arenden")
    assert sign_in_page.status_code == 200 and urlsplit(sign_in_page.url).path == "/logga-in"
    assert 'name="next" value="/arenden"' in sign_in_page.text
    assert "/logga-in/oidc" not in sign_in_page.text  # no OpenID Connect configured here
    assert web.get("/logga-in/oidc").status_code == 404

    unknown = web.get("/finns-inte")
    assert unknown.status_code == 404 and "Sidan finns inte" in unknown.text
    no_stack_trace(unknown)


def test_the_token_form_signs_in_an_unknown_token_gets_401_and_sign_out_clears_the_session(
        web: Browser, api: Api) -> None:
    unknown = web.sign_in("not-a-known-token")
    assert unknown.status_code == 401
    assert "Nyckeln är okänd eller har gått ut." in unknown.text
    assert SESSION not in web.session.cookies

    signed = web.sign_in("test-registrar", next_page="/arenden?kind=motion")
    assert signed.status_code == 200
    assert [r.status_code for r in signed.history] == [303]
    assert signed.history[0].headers["Location"] == "/arenden?kind=motion"
    assert "Rut Registrator" in signed.text and "Inloggad som Rut Registrator." in signed.text
    assert web.session.cookies[SESSION] == "test-registrar"

    out = web.post("/logga-ut", allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == "/logga-in"
    cleared = set_cookies(out)[SESSION]
    assert cleared.startswith(f"{SESSION}=;") or cleared.startswith(f'{SESSION}="";')
    assert "Max-Age=0" in cleared
    assert SESSION not in web.session.cookies
    assert web.get("/arenden", allow_redirects=False).status_code == 303

    # only this site's pages are places to return to
    for elsewhere in ("//evil.example/arenden", "https://evil.example/", "/\\evil.example"):
        response = web.post("/logga-in", {"token": "test-registrar", "next": elsewhere}, allow_redirects=False)
        assert response.status_code == 303 and response.headers["Location"] == "/", elsewhere


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_unless_turned_off(
        web: Browser, config: dict[str, Any], container_factory: Any, infrastructure: Infrastructure) -> None:
    cookie = set_cookies(web.sign_in().history[0])[SESSION]  # the 303's, in the redirect's history
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # WEB_SECURE_COOKIE=false: a developer's http://

    secure_web = container_factory(WebService, {
        key: value for key, value in web_config(infrastructure.amqp_uri, {"initiatives": api_for(config).base_url}).items()
        if key != "WEB_SECURE_COOKIE"})
    secure_web.start()
    browser = Browser(f"http://{secure_web.config['WEB_SERVER_ADDRESS']}")
    response = browser.sign_in(next_page="/arenden")
    flags = [part.strip().lower() for part in set_cookies(response.history[0] if response.history else response)[SESSION].split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags


# --- forms only from the site's own pages


def test_a_form_without_origin_or_from_another_origin_is_refused_and_writes_nothing(
        signed_in: Browser, api: Api) -> None:
    case = submitted(api)
    for origin, referer in ((None, None), ("https://evil.example", None), (None, "https://evil.example/arenden"),
                            ("null", None)):
        headers = {"Referer": referer} if referer else {}
        refused = signed_in.post(f"/arenden/{case['id']}/register", {"registered_on": ""}, origin=origin,
                                 headers=headers, allow_redirects=False)
        assert refused.status_code == 403, (origin, referer)
        assert "Formuläret kom inte från den här webbplatsen" in refused.text
        no_stack_trace(refused)
        new = signed_in.post("/arenden/nytt", {"kind": "initiative", "title": "Från en annan webbplats",
                                               "text": "x", "submitters": "A; B", "submitted_on": "2025-05-17",
                                               "addressed_to": "Nämnden"}, origin=origin, headers=headers,
                             allow_redirects=False)
        assert new.status_code == 403
    assert api.get(f"/initiatives/{case['id']}").json()["state"] == "submitted"
    assert [c["id"] for c in api.get("/initiatives").json()["initiatives"]] == [case["id"]]

    # the same form from the site's own page goes through
    accepted = signed_in.post(f"/arenden/{case['id']}/register", {"registered_on": ""}, allow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["Location"] == f"/arenden/{case['id']}"
    assert api.get(f"/initiatives/{case['id']}").json()["state"] == "registered"


# --- a service that is down


def test_when_the_audit_service_is_down_the_case_page_still_shows_the_case_and_says_so(
        signed_in: Browser, api: Api) -> None:
    case = api.command(f"/initiatives/{submitted(api)['id']}/register", "registrar", {})
    page = signed_in.get(f"/arenden/{case['id']}")
    assert page.status_code == 200  # the case is there; only its timeline is missing
    assert case["title"] in page.text and case["diary_number"] in page.text
    assert "Granskningstjänsten svarar inte just nu; tidslinjen kan inte visas." in page.text
    assert 'action="/arenden/' in page.text  # the registrar's next step is still offered
    no_stack_trace(page)


def test_when_the_initiatives_service_is_down_the_page_says_so_with_503(
        container_factory: Any, infrastructure: Infrastructure) -> None:
    web = container_factory(WebService, web_config(infrastructure.amqp_uri, {}))  # every service down
    web.start()
    browser = Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")
    assert browser.sign_in().history[0].status_code == 303  # signing in needs no service
    for response in (browser.get("/arenden"), browser.get(f"/arenden/{uuid.uuid4()}"),
                     browser.post(f"/arenden/{uuid.uuid4()}/register", {})):
        assert response.status_code == 503
        assert "En tjänst svarar inte" in response.text
        assert "Ärendetjänsten (initiativärenden) svarar inte just nu" in response.text
        assert "Inget av det du sparat tidigare har gått förlorat" in response.text
        no_stack_trace(response)


# --- text from the services is escaped


def test_html_in_a_case_is_shown_as_text_in_search_hits_and_on_the_case_page(signed_in: Browser, api: Api) -> None:
    case = submitted(api, title="<script>alert('rubrik')</script> Samverkan i länet",
                     text="Om <b>samverkan</b> med <img src=x onerror=alert(1)> kommunerna &amp; civilsamhället.")
    hits = signed_in.get("/arenden", params={"q": "samverkan"})
    assert hits.status_code == 200
    assert "<mark>" in hits.text  # the service's marks survive ...
    for raw in ("<script>alert", "<b>samverkan", "<img src=x", "<b>"):
        assert raw not in hits.text  # ... and nothing else of the case's text is markup
    assert "&lt;script&gt;alert(&#39;rubrik&#39;)&lt;/script&gt; Samverkan i länet" in hits.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in hits.text

    page = signed_in.get(f"/arenden/{case['id']}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "<h1>&lt;script&gt;alert(&#39;rubrik&#39;)&lt;/script&gt; Samverkan i länet</h1>" in page.text


# --- OpenID Connect


class OpenIdProvider(IdentityProvider):
    """An identity provider as a browser and the web app meet it: discovery, an authorization endpoint
    that signs the person in at once and sends the browser back with a code, a token endpoint that
    checks the client, the redirect URI and the PKCE verifier, its JWKS, and a sign-out endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.base = self.jwks_url.split("/protocol/")[0]
        self.issuer = self.base + "/realms/region"
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorizations: list[dict[str, str]] = []
        self.redemptions: list[dict[str, str]] = []
        self.sign_outs: list[dict[str, str]] = []
        self.token_endpoint = self.issuer + "/token"
        self.token_status = 200
        self.access_audience = AUDIENCE
        self.id_nonce: str | None = None  # None: the nonce the authorization request sent

    def claims(self, **changes: Any) -> dict[str, Any]:
        return super().claims(**{"iss": self.issuer, "name": PERSON, "sub": "7d1e-ingrid", **changes})

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": self.issuer + "/auth",
                "token_endpoint": self.token_endpoint, "jwks_uri": self.jwks_url,
                "end_session_endpoint": self.issuer + "/logout",
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}

    def _serve(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path.endswith("/certs"):
            return self._json(start_response, self.jwks)
        if path == "/realms/region/.well-known/openid-configuration":
            return self._json(start_response, self.discovery())
        if path == "/realms/region/auth":
            return self._authorize(query, start_response)
        if path == "/realms/region/token" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(length).decode()).items()}
            return self._token(form, environ.get("HTTP_AUTHORIZATION", ""), start_response)
        if path == "/realms/region/logout":
            self.sign_outs.append(query)
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return ["Utloggad hos regionens inloggning".encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    @staticmethod
    def _json(start_response: Any, body: Any, status: str = "200 OK") -> list[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def _authorize(self, query: dict[str, str], start_response: Any) -> list[bytes]:
        self.authorizations.append(query)
        assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
        assert query["code_challenge_method"] == "S256" and "openid" in query["scope"].split()
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        location = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        start_response("302 Found", [("Location", location)])
        return [b""]

    def _token(self, form: dict[str, str], authorization: str, start_response: Any) -> list[bytes]:
        self.redemptions.append(form)
        if self.token_status != 200:
            return self._json(start_response, {"error": "server_error"}, f"{self.token_status} Failed")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return self._json(start_response, {"error": "invalid_client"}, "401 Unauthorized")
        asked = self.codes.pop(form.get("code", ""), None)  # a code is redeemed once
        if (asked is None or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != asked["redirect_uri"]
                or code_challenge(form.get("code_verifier", "")) != asked["code_challenge"]):
            return self._json(start_response, {"error": "invalid_grant"}, "400 Bad Request")
        now = int(time.time())
        id_token = jwt.encode({"iss": self.issuer, "aud": CLIENT_ID, "sub": "7d1e-ingrid", "name": PERSON,
                               "nonce": self.id_nonce or asked["nonce"], "iat": now, "exp": now + 300},
                              self.key, algorithm="RS256", headers={"kid": KEY_ID})
        return self._json(start_response, {"access_token": self.token(aud=self.access_audience),
                                           "id_token": id_token, "token_type": "Bearer", "expires_in": 300})


@pytest.fixture
def provider() -> Iterator[OpenIdProvider]:
    provider = OpenIdProvider()
    yield provider
    provider.stop()


def oidc_web_config(amqp_uri: str, provider: OpenIdProvider, initiatives_url: str, **overrides: Any) -> dict[str, Any]:
    address = f"127.0.0.1:{free_port()}"
    return web_config(amqp_uri, {"initiatives": initiatives_url}, WEB_SERVER_ADDRESS=address,
                      WEB_PUBLIC_URL=f"http://{address}", OIDC_ISSUER=provider.issuer, OIDC_AUDIENCE=AUDIENCE,
                      OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET, OIDC_SCOPES="openid profile",
                      **overrides)


@pytest.fixture
def oidc_web(container_factory: Any, infrastructure: Infrastructure, provider: OpenIdProvider,
             store_config: dict[str, Any]) -> Iterator[Browser]:
    """The initiatives service and the web app, both taking the provider's tokens."""
    infrastructure.purge_inboxes()
    initiatives = service_config(infrastructure.amqp_uri, store_config, OIDC_ISSUER=provider.issuer,
                                 OIDC_AUDIENCE=AUDIENCE, OIDC_JWKS_URL=provider.jwks_url)
    for _ in running(container_factory, InitiativesService, initiatives):
        web = container_factory(WebService, oidc_web_config(infrastructure.amqp_uri, provider,
                                                            api_for(initiatives).base_url))
        web.start()
        yield Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")


def to_the_callback(browser: Browser, next_page: str = "/arenden") -> str:
    """Signs in at the provider and returns where it sends the browser back (not followed)."""
    started = browser.get("/logga-in/oidc?" + urlencode({"next": next_page}), allow_redirects=False)
    assert started.status_code == 303, started.text
    at_provider = browser.session.get(started.headers["Location"], allow_redirects=False, timeout=30)
    assert at_provider.status_code == 302
    return at_provider.headers["Location"]


def test_signing_in_with_openid_connect_shows_the_persons_cases_and_signing_out_ends_it_there_too(
        oidc_web: Browser, provider: OpenIdProvider) -> None:
    sign_in_page = oidc_web.get("/arenden")
    assert urlsplit(sign_in_page.url).path == "/logga-in"
    assert 'href="/logga-in/oidc?next=/arenden"' in sign_in_page.text

    started = oidc_web.get("/logga-in/oidc?next=/arenden", allow_redirects=False)
    assert started.status_code == 303
    location = urlsplit(started.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider.issuer + "/auth"
    asked = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert asked["redirect_uri"] == oidc_web.base_url + "/logga-in/oidc/klar"
    assert asked["scope"] == "openid profile" and asked["code_challenge_method"] == "S256"
    assert len(asked["state"]) >= 22 and len(asked["nonce"]) >= 22
    flow_cookie = set_cookies(started)[FLOW_COOKIE].lower()
    assert "httponly" in flow_cookie and "samesite=lax" in flow_cookie and "path=/logga-in/oidc" in flow_cookie
    assert "max-age=600" in flow_cookie

    back = oidc_web.session.get(started.headers["Location"], timeout=30)  # to the provider, back, to the page
    assert back.status_code == 200, back.text
    assert urlsplit(back.url).path == "/arenden"
    assert PERSON in back.text and f"Inloggad som {PERSON}." in back.text
    [redeemed] = provider.redemptions
    assert redeemed["redirect_uri"] == asked["redirect_uri"] and redeemed["client_id"] == CLIENT_ID
    assert code_challenge(redeemed["code_verifier"]) == asked["code_challenge"]
    assert "client_secret" not in redeemed  # sent as HTTP Basic, which the provider checked

    callback = next(r for r in back.history if urlsplit(r.url).path == "/logga-in/oidc/klar")
    cookies = set_cookies(callback)
    session = cookies[SESSION]
    max_age = int(session.split("Max-Age=")[1].split(";")[0])
    assert 0 < max_age <= 300  # no longer than the access token (exp: 300 s)
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "Max-Age=0" in cookies[FLOW_COOKIE]  # the flow is over
    token = oidc_web.session.cookies[SESSION]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == AUDIENCE  # the access token

    # the services take the same token: the page read the (empty) case list with it
    assert "Inga ärenden." in back.text

    out = oidc_web.post("/logga-ut")
    assert out.status_code == 200 and "Utloggad hos regionens inloggning" in out.text
    [signed_out] = provider.sign_outs
    assert signed_out["client_id"] == CLIENT_ID
    assert signed_out["post_logout_redirect_uri"] == oidc_web.base_url + "/logga-in"
    assert jwt.decode(signed_out["id_token_hint"], options={"verify_signature": False})["aud"] == CLIENT_ID
    assert SESSION not in oidc_web.session.cookies
    assert oidc_web.get("/arenden", allow_redirects=False).status_code == 303


def test_a_return_with_another_state_or_none_begun_here_is_refused_with_400(
        oidc_web: Browser, provider: OpenIdProvider) -> None:
    callback = urlsplit(to_the_callback(oidc_web))
    returned = parse_qs(callback.query)
    wrong_state = oidc_web.get(callback.path + "?" + urlencode({"code": returned["code"][0], "state": "another"}),
                               allow_redirects=False)
    assert wrong_state.status_code == 400
    assert "Inloggningen hörde inte ihop" in wrong_state.text
    no_stack_trace(wrong_state)
    assert SESSION not in oidc_web.session.cookies
    assert provider.redemptions == []  # the code was never redeemed

    # the flow's cookie is gone after a failure: the right state does not help now
    replayed = oidc_web.get(callback.path + "?" + callback.query, allow_redirects=False)
    assert replayed.status_code == 400 and "Inloggningen har gått ut" in replayed.text

    stranger = Browser(oidc_web.base_url)  # a browser that never began a sign-in here
    fresh = urlsplit(to_the_callback(oidc_web))
    refused = stranger.get(fresh.path + "?" + fresh.query, allow_redirects=False)
    assert refused.status_code == 400 and "Inloggningen har gått ut" in refused.text
    assert SESSION not in stranger.session.cookies

    denied = urlsplit(to_the_callback(oidc_web))
    state = parse_qs(denied.query)["state"][0]
    cancelled = oidc_web.get(denied.path + "?" + urlencode({"error": "access_denied", "state": state}))
    assert cancelled.status_code == 400 and "Inloggningen avbröts" in cancelled.text


def test_a_code_the_provider_refuses_gives_400_and_a_provider_that_is_down_503_or_502(
        oidc_web: Browser, provider: OpenIdProvider, container_factory: Any, infrastructure: Infrastructure) -> None:
    callback = urlsplit(to_the_callback(oidc_web))
    flow = oidc_web.session.cookies.get(FLOW_COOKIE)
    state, nonce, _, next_page = json.loads(base64.urlsafe_b64decode(flow + "=" * (-len(flow) % 4)))
    other_verifier = base64.urlsafe_b64encode(
        json.dumps([state, nonce, "another-verifier-" + "x" * 40, next_page]).encode()).rstrip(b"=").decode()
    for cookie in oidc_web.session.cookies:
        if cookie.name == FLOW_COOKIE:
            cookie.value = other_verifier
    refused = oidc_web.get(callback.path + "?" + callback.query, allow_redirects=False)
    assert refused.status_code == 400 and "Inloggningen godtogs inte" in refused.text  # PKCE: not the verifier

    provider.token_endpoint = closed_url() + "/token"  # the discovery document is kept: set a fresh app's
    web = container_factory(WebService, oidc_web_config(infrastructure.amqp_uri, provider, closed_url()))
    web.start()
    browser = Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")
    callback = urlsplit(to_the_callback(browser))
    down = browser.get(callback.path + "?" + callback.query, allow_redirects=False)
    assert down.status_code == 503
    assert "Inloggningen svarar inte" in down.text and "går inte att nå just nu" in down.text
    no_stack_trace(down)
    assert SESSION not in browser.session.cookies

    provider.token_endpoint = provider.issuer + "/token"
    provider.token_status = 500
    web = container_factory(WebService, oidc_web_config(infrastructure.amqp_uri, provider, closed_url()))
    web.start()
    browser = Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")
    callback = urlsplit(to_the_callback(browser))
    failed = browser.get(callback.path + "?" + callback.query, allow_redirects=False)
    assert failed.status_code == 502 and "svarade med ett fel" in failed.text
    no_stack_trace(failed)

    provider.stop()  # the provider itself down: its discovery document cannot be read
    web = container_factory(WebService, oidc_web_config(infrastructure.amqp_uri, provider, closed_url()))
    web.start()
    browser = Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")
    unreachable = browser.get("/logga-in/oidc?next=/arenden", allow_redirects=False)
    assert unreachable.status_code == 503 and "går inte att nå just nu" in unreachable.text
    no_stack_trace(unreachable)


def test_an_access_token_for_another_audience_or_an_id_token_of_another_sign_in_is_refused(
        oidc_web: Browser, provider: OpenIdProvider) -> None:
    provider.access_audience = "another-system"
    callback = urlsplit(to_the_callback(oidc_web))
    refused = oidc_web.get(callback.path + "?" + callback.query, allow_redirects=False)
    assert refused.status_code == 401
    assert "Inloggningen gäller inte här" in refused.text and "ärendetjänsterna inte godtar" in refused.text
    assert SESSION not in oidc_web.session.cookies
    no_stack_trace(refused)

    provider.access_audience = AUDIENCE
    provider.id_nonce = "a-nonce-of-another-sign-in"
    callback = urlsplit(to_the_callback(oidc_web))
    refused = oidc_web.get(callback.path + "?" + callback.query, allow_redirects=False)
    assert refused.status_code == 400 and "Inloggningen kunde inte bekräftas" in refused.text
    assert SESSION not in oidc_web.session.cookies


def test_an_expired_or_foreign_token_in_the_session_signs_out_and_the_token_form_refuses_it(
        oidc_web: Browser, provider: OpenIdProvider) -> None:
    now = int(time.time())
    for token in (provider.token(iat=now - 3600, exp=now - 1800), provider.token(aud="another-system")):
        browser = Browser(oidc_web.base_url)
        browser.session.cookies.set(SESSION, token)
        response = browser.get("/arenden", allow_redirects=False)
        assert response.status_code == 303
        assert response.headers["Location"] == "/logga-in?" + urlencode({"next": "/arenden"})
        assert "Max-Age=0" in set_cookies(response)[SESSION]

        refused = Browser(oidc_web.base_url).sign_in(token)
        assert refused.status_code == 401 and "Nyckeln är okänd eller har gått ut." in refused.text
        no_stack_trace(refused)

    valid = Browser(oidc_web.base_url)
    assert PERSON in valid.sign_in(provider.token()).text  # a valid one may be pasted too
