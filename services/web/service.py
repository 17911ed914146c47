"""The web app (port 8000): server-rendered pages over the services' HTTP APIs.

One nameko HTTP entrypoint takes every path; the site (services.web.site) routes it. The
app keeps no data: what a page shows it reads from the services, with the user's token.
"""
from __future__ import annotations

import json
import os
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.web import signin
from services.web.pages import agreements, bodies, cases, evaluations, meetings, reminders, search, session
from services.web.site import DEFAULT_MAX_BODY_BYTES, Settings, Site
from shared import clock
from shared.auth import ConfigurationError, authenticator_from
from shared.collector import Collector
from shared.settings import env_flag

AREAS = (session.routes, signin.routes, cases.routes, meetings.routes, bodies.routes, agreements.routes,
         evaluations.routes, search.routes, reminders.routes)


class WebSite(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        clock.use_time_zone(config.get("TIME_ZONE"))
        development = env_flag(config, "DEVELOPMENT", False)
        self.site = Site(Settings(
            service_urls=service_urls(config),
            authenticator=authenticator_from(config),
            development_tokens=dict(config.get("DEVELOPMENT_TOKENS") or {}) if development else {},
            secure_cookie=env_flag(config, "WEB_SECURE_COOKIE", True) and not development,
            service_timeout=float(config.get("WEB_SERVICE_TIMEOUT") or 15),
            oidc=open_id_sign_in(config),
            max_body_bytes=int(config.get("WEB_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
        ), AREAS)

    def get_dependency(self, worker_ctx: Any) -> Site:
        return self.site


def open_id_sign_in(config: dict[str, Any]) -> signin.OpenIdSignIn | None:
    """Sign-in at the identity provider when the web app is registered there (OIDC_CLIENT_ID)."""
    client_id, issuer = config.get("OIDC_CLIENT_ID") or "", config.get("OIDC_ISSUER") or ""
    if not (client_id and issuer):
        return None
    public_url = str(config.get("WEB_PUBLIC_URL") or "").rstrip("/")
    if not public_url.startswith(("https://", "http://")):
        raise ConfigurationError("Set WEB_PUBLIC_URL (e.g. https://arenden.region.se) for sign-in with OpenID "
                                 "Connect: the redirect URI registered at the identity provider is "
                                 "WEB_PUBLIC_URL/logga-in/oidc/klar")
    algorithms = [a.strip() for a in str(config.get("OIDC_ALGORITHMS") or "").split(",") if a.strip()]
    return signin.OpenIdSignIn(
        issuer=issuer, client_id=client_id, public_url=public_url,
        client_secret=config.get("OIDC_CLIENT_SECRET") or "",
        scopes=config.get("OIDC_SCOPES") or "openid profile", jwks_url=config.get("OIDC_JWKS_URL") or "",
        algorithms=algorithms or signin.DEFAULT_ALGORITHMS,
        timeout=float(config.get("WEB_SERVICE_TIMEOUT") or 15),
    )


def service_urls(config: dict[str, Any]) -> dict[str, str]:
    """Where the services answer (WEB_SERVICES: name → URL; as JSON in the environment it replaces the
    config file's, as the audit service's AUDIT_SOURCES)."""
    from_env = os.environ.get("WEB_SERVICES")
    urls = json.loads(from_env) if from_env else config.get("WEB_SERVICES") or {}
    return {name: str(url).rstrip("/") for name, url in urls.items()}


class WebService:
    name = "web"
    site = WebSite()
    collector = Collector()  # the garbage collector of a long-running process (shared.collector)

    @http("GET,POST", "/")
    def root(self, request: Request) -> Response:
        return self.site.handle(request)

    @http("GET,POST", "/<path:path>")
    def any_page(self, request: Request, path: str) -> Response:
        return self.site.handle(request)
