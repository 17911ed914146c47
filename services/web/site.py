"""The web app's request handling: routes (werkzeug's), the session, rendering (Jinja2), errors.

Each area of the site (pages/…) lists its routes; an endpoint is `function(page, **arguments)`
returning a Response. A page needs a signed-in user unless its function is marked `public`.
The session is the user's token in an HttpOnly cookie; the services check it on every call,
the site only asks the same authenticator who it is, to greet the user and offer the forms of
their roles. A form is only taken from the site's own pages (Origin or Referer of this host).
"""
from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote, unquote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from shared import clock
from shared.auth import Actor, Authenticator, IdentityProviderUnavailable
from shared.errors import Unauthenticated
from shared.files import DEFAULT_FILE_MAX_BYTES
from shared.http import REQUEST_ID_HEADER, request_id_of
from services.web.client import Refused, ServiceDown, Services, SignedOut
from services.web.forms import CommandForm, field_errors
from services.web.words import event_words, file_size, message, word

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "arenden_session"
NOTICE_COOKIE = "arenden_notice"
HTML = "text/html; charset=utf-8"
PDF = "application/pdf"
Endpoint = Callable[..., Response]
DEFAULT_MAX_BODY_BYTES = DEFAULT_FILE_MAX_BYTES + 1024 * 1024


def public(endpoint: Endpoint) -> Endpoint:
    """A page anyone may open (sign-in, style sheet, probes)."""
    endpoint.public = True  # type: ignore[attr-defined]
    return endpoint


@dataclass
class Settings:
    service_urls: Mapping[str, str]
    authenticator: Authenticator
    development_tokens: Mapping[str, Mapping[str, Any]]
    secure_cookie: bool = True
    service_timeout: float = 15.0
    oidc: Any = None  # services.web.signin.OpenIdSignIn when configured
    # the largest request body the site takes (WEB_MAX_BODY_BYTES): a form with a file up to the services'
    # FILE_MAX_BYTES (default 25 MiB) and its other fields; larger ones get a 413 page
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


@dataclass
class Page:
    """One request as a page sees it: who asks, the services with their token, and how to answer."""

    request: Request
    site: "Site"
    actor: Actor | None
    services: Services
    notice: str | None = None
    cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles if self.actor else frozenset()

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        body = self.site.templates.get_template(template).render(page=self, **context)
        return self.respond(Response(body, status=status, content_type=HTML))

    def redirect(self, location: str, notice: str | None = None) -> Response:
        """303 to a page, after a form: the notice is shown once there."""
        if notice:
            self.cookies.append((NOTICE_COOKIE, quote(notice), {"max_age": 60}))
        return self.respond(Response(status=303, headers={"Location": location}))

    def respond(self, response: Response) -> Response:
        for name, value, options in self.cookies:
            response.set_cookie(name, value, **{"path": "/", "httponly": True, "samesite": "Lax",
                                                "secure": self.site.settings.secure_cookie, **options})
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers[REQUEST_ID_HEADER] = request_id_of(self.request)
        return response

    def document(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Response:
        """A service's document (a PDF) passed on as it came: the browser never needs the service's address."""
        found = self.services.request("GET", service, path, accept=PDF, params=params)
        return self.respond(Response(found.content, content_type=PDF, headers={
            "Content-Disposition": found.headers.get("Content-Disposition", "inline")}))

    def form_command(self, form: CommandForm, ids: Mapping[str, Any], again: Callable[..., Response],
                     done: str | Callable[[Any], str], notice: str, extra: Mapping[str, Any] | None = None) -> Response:
        """Sends a form's command; on success to `done` (a path, or one made of the service's answer:
        what was created), else the page again (`again(failure=…)`) with the service's 400 beside
        the fields or its 409 on top, and the values as they were typed. `extra`: more of the body, not
        typed in the form (a file the page uploaded first)."""
        values = self.request.form.to_dict()
        if not form.allowed_for(self.roles):
            return again(failure=Failure(form.command, values, {}, [
                f"Din roll får inte {word('command', form.command)}."], status=403))
        if form.unchosen(values):
            return again(failure=Failure(form.command, values, form.unchosen(values), [], status=400))
        try:
            answer = self.services.post(form.service, form.address(ids, values), {**form.body(values), **(extra or {})})
        except SignedOut:
            raise
        except Refused as refused:
            if refused.status == 400:
                by_field, general = field_errors(refused.problem, form)
                return again(failure=Failure(form.command, values, by_field, general, status=400))
            return again(failure=Failure(form.command, values, {}, [], status=refused.status,
                                         problem=refused.problem))
        return self.redirect(done(answer) if callable(done) else done, notice)

    def offered(self, forms: Iterable[CommandForm], allowed: Iterable[str] | None = None) -> list[CommandForm]:
        """The forms this user's roles may send, of the commands the aggregate allows now (`allowed`, its
        `allowed_commands`; None where it has no such states)."""
        allowed = None if allowed is None else set(allowed)
        return [form for form in forms if form.allowed_for(self.roles) and (allowed is None or form.command in allowed)]

    def item_command(self, forms: Mapping[str, CommandForm], command: str, item_id: Any,
                     item_page: Callable[..., Response], done: str) -> Response:
        """A form sent from an item's page: its command by name (404 when there is none); refused, the
        item's page again (`item_page(page, item_id, failure=…)`); done, back to `done` with a notice."""
        form = forms.get(command)
        if form is None:
            return self.site.problem_page(self, 404, "Det finns inget sådant steg", command)
        return self.form_command(form, {"id": item_id}, lambda failure: item_page(self, item_id, failure=failure),
                                 done, f"Klart: {form.title.lower()}.")

    def link(self, path: str, **params: Any) -> str:
        present = {k: v for k, v in params.items() if v not in (None, "", False)}
        return path + ("?" + urlencode(present) if present else "")


@dataclass
class Failure:
    """A form the service refused: shown again with the values typed and what was wrong."""

    command: str
    values: Mapping[str, str]
    field_errors: Mapping[str, list[str]]
    messages: list[str]
    status: int
    problem: Mapping[str, Any] | None = None

    @property
    def conflict(self) -> Mapping[str, Any] | None:
        """A 409's explanation: the command, the state, what is allowed now."""
        return self.problem if self.status == 409 and self.problem else None


class Site:
    def __init__(self, settings: Settings, areas: Iterable[Iterable[Rule]]):
        self.settings = settings
        # unbound copies: a rule is bound to one map, and a process may set up the site more than once (tests)
        self.routes = Map([rule.empty() for area in areas for rule in area], strict_slashes=False)
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
            trim_blocks=True, lstrip_blocks=True,
        )
        self.templates.filters.update(
            day=_day, moment=_moment, word=lambda value, group: word(group, value), event_words=event_words, message=message, snippet=_snippet,
            file_size=file_size,
        )
        self.templates.globals.update(today=clock.today)

    def handle(self, request: Request) -> Response:
        request.max_content_length = self.settings.max_body_bytes  # werkzeug parses forms (and files) within it
        adapter = self.routes.bind_to_environ(request.environ)
        token = request.cookies.get(SESSION_COOKIE)
        services = Services(self.settings.service_urls, token, request_id_of(request),
                            timeout=self.settings.service_timeout)
        page = Page(request, self, None, services)
        try:
            endpoint, arguments = adapter.match()
        except NotFound:
            return self.problem_page(page, 404, "Sidan finns inte", "Kontrollera adressen, eller börja om från Ärenden.")
        except MethodNotAllowed as error:
            response = self.problem_page(page, 405, "Det går inte här", "Sidan tar inte emot det anropet.")
            response.headers["Allow"] = ", ".join(error.valid_methods or [])
            return response
        try:
            page.actor = self.actor_for(token) if token else None
        except IdentityProviderUnavailable:
            return self.problem_page(page, 503, "Inloggningen svarar inte",
                                     "Identitetstjänsten går inte att nå just nu. Försök igen om en stund.")
        if token and page.actor is None:  # an expired or foreign token in the cookie: signed out, not a failed page
            page.cookies.append((SESSION_COOKIE, "", {"max_age": 0}))
        if page.actor is None and not getattr(endpoint, "public", False):
            return page.redirect(page.link("/logga-in", next=_local(request.full_path)))
        if request.method == "POST" and not _same_origin(request):
            return self.problem_page(page, 403, "Formuläret kom inte från den här webbplatsen",
                                     "Skicka formuläret från webbplatsens egna sidor.")
        page.notice = _notice(request)
        if page.notice:
            page.cookies.append((NOTICE_COOKIE, "", {"max_age": 0}))
        try:
            return endpoint(page, **arguments)
        except ServiceDown as down:
            log.warning("a service did not answer: %s", down)
            return self.problem_page(page, 503, "En tjänst svarar inte",
                                     f"{down.service_name.capitalize()} svarar inte just nu. Inget av det du "
                                     "sparat tidigare har gått förlorat. Försök igen om en stund.")
        except IdentityProviderUnavailable:
            return self.problem_page(page, 503, "Inloggningen svarar inte",
                                     "Identitetstjänsten går inte att nå just nu. Försök igen om en stund.")
        except SignedOut:
            page.cookies.append((SESSION_COOKIE, "", {"max_age": 0}))
            return page.redirect(page.link("/logga-in", next=_local(request.full_path)),
                                 "Din inloggning gäller inte längre. Logga in igen.")
        except RequestEntityTooLarge:
            return self.problem_page(page, 413, "Det du skickade är för stort",
                                     f"Webbplatsen tar emot högst {file_size(self.settings.max_body_bytes)} åt gången. "
                                     "Inget har sparats.")
        except Refused as refused:
            titles = {403: "Din roll får inte göra det här", 404: "Det finns inte"}
            return self.problem_page(page, refused.status, titles.get(refused.status, "Det gick inte"),
                                     message(str(refused.problem.get("detail") or "")))
        except Exception:  # a page's own mistake: a page that says so, never a stack trace
            log.exception("the page failed")
            return self.problem_page(page, 500, "Något gick fel på sidan",
                                     "Felet är loggat. Ange felkoden nedan om du kontaktar supporten.")

    def actor_for(self, token: str) -> Actor | None:
        """Whom a session's token stands for; None when the authenticator does not know it or refuses it
        (a JWT that has expired, is forged, or is for another audience: the reason is logged)."""
        try:
            return self.settings.authenticator.actor_for(token)
        except Unauthenticated as refused:
            log.info("a token was refused: %s", refused)
            return None

    def problem_page(self, page: Page, status: int, title: str, detail: str) -> Response:
        return page.render("problem.html", status=status, code=status, title=title, detail=detail,
                           request_id=request_id_of(page.request))


def _same_origin(request: Request) -> bool:
    """A form is taken only from this site's pages: browsers send Origin (or at least Referer) with one."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False
    return urlsplit(source).netloc == request.host


def _local(path: str) -> str:
    """Where to go back after signing in: only a path on this site."""
    path = path.rstrip("?")
    # browsers read "/\\host" and "/<tab>/host" as "//host": another site
    if not path.startswith("/") or path.startswith("//") or any(c == "\\" or c < " " for c in path):
        return "/"
    return path


def _notice(request: Request) -> str | None:
    value = request.cookies.get(NOTICE_COOKIE)
    return unquote(value)[:300] if value else None


def _snippet(text: str) -> Markup:
    """A search hit's snippet: its text escaped here again, only the services' <mark> kept."""
    parts = re.split(r"(</?mark>)", str(text or ""))
    return Markup("").join(Markup(part) if part in ("<mark>", "</mark>") else escape(html.unescape(part))
                           for part in parts)


def _day(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)[:10]


def _moment(value: Any) -> str:
    """An instant in Swedish time, to the minute."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo:
        moment = moment.astimezone(clock.time_zone())
    return moment.strftime("%Y-%m-%d %H:%M")
