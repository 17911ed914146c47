"""Signing in and out, the style sheet and the probes: the pages that need no session."""
from __future__ import annotations

import mimetypes

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.web.signin import signed_out_at_provider
from services.web.site import HERE, SESSION_COOKIE, Page, _local, public
from shared.http import json_response

SESSION_HOURS = 10  # a working day; the token's own expiry ends it sooner


@public
def sign_in_form(page: Page) -> Response:
    return sign_in_page(page, _local(page.request.args.get("next", "/")))


def sign_in_page(page: Page, target: str, status: int = 200, error: str | None = None) -> Response:
    """The ways in this site offers: OpenID Connect, the development roles, a token."""
    return page.render("sign_in.html", status=status, development=page.site.settings.development_tokens,
                       next=target, oidc=page.site.settings.oidc is not None, error=error)


@public
def sign_in(page: Page) -> Response:
    """A token (a development role's, or one the user was given) becomes the session when the
    authenticator knows it; OpenID Connect sign-in goes through services.web.signin instead."""
    token = (page.request.form.get("token") or "").strip()
    target = _local(page.request.form.get("next") or "/")
    actor = page.site.actor_for(token) if token else None
    if actor is None:
        return sign_in_page(page, target, status=401, error="Nyckeln är okänd eller har gått ut.")
    page.cookies.append((SESSION_COOKIE, token, {"max_age": SESSION_HOURS * 3600}))
    return page.redirect(target, f"Inloggad som {actor.name}.")


@public
def sign_out(page: Page) -> Response:
    page.cookies.append((SESSION_COOKIE, "", {"max_age": 0}))
    return signed_out_at_provider(page) or page.redirect("/logga-in", "Du är utloggad.")


@public
def static(page: Page, name: str) -> Response:
    path = (HERE / "static" / name).resolve()
    if path.parent != (HERE / "static").resolve() or not path.is_file():
        return page.site.problem_page(page, 404, "Filen finns inte", name)
    response = Response(path.read_bytes(), content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    response.headers["Cache-Control"] = "max-age=300"
    return response


@public
def health(page: Page) -> Response:
    """The web app keeps nothing: it is healthy when it answers; each service has its own /health."""
    return json_response({"service": "web", "status": "ok", "services": sorted(page.site.settings.service_urls)})


routes = [
    Rule("/logga-in", methods=["GET"], endpoint=sign_in_form),
    Rule("/logga-in", methods=["POST"], endpoint=sign_in),
    Rule("/logga-ut", methods=["POST"], endpoint=sign_out),
    Rule("/static/<name>", methods=["GET"], endpoint=static),
    Rule("/health", methods=["GET"], endpoint=health),
    Rule("/live", methods=["GET"], endpoint=health),
    Rule("/ready", methods=["GET"], endpoint=health),  # ready when it answers: each page says which service is down
]
