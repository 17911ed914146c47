"""HTTP for every service: JSON in and out, and every error as application/problem+json.

Every request has an id: the client's `X-Request-ID` when it is sane, else a new UUID. It
is echoed on every response (errors included), and the request's work runs within it
(shared.context): log lines name it, and the events it records carry it as their
`correlation_id` (docs/events.md).
"""
from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlencode
from uuid import uuid4

from marshmallow import Schema, ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from shared.context import working_on
from shared.envelope import dumps
from shared.errors import EXPECTED_ERRORS, BodyTooLarge, CaseError, InvalidRequest, LengthRequired, UnsupportedMediaType
from shared.readmodel import Page
from shared.telemetry import ROUTE_ENVIRON_KEY, MeasuredWsgiApp, Telemetry

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is taken as it is when it is 1 to 200 visible ASCII characters (no spaces, no
# control characters: it goes into headers, log lines and stored events); otherwise, or when
# none is sent, the request gets a new one rather than a 400.
_SANE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
_REQUEST_ID_KEY = "cases.request_id"


def request_id_of(request: Request) -> str:
    """The request's id, decided once per request and kept in its WSGI environ."""
    request_id = request.environ.get(_REQUEST_ID_KEY)
    if request_id is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SANE_REQUEST_ID.fullmatch(given) else str(uuid4())
        request.environ[_REQUEST_ID_KEY] = request_id
    return request_id


def within_request(request: Request) -> Any:
    """The context of the work a request does: its id, which also begins the correlation of what it records."""
    request_id = request_id_of(request)
    return working_on(request_id=request_id, correlation_id=request_id)


def problem_response(problem: Mapping[str, Any]) -> Response:
    return Response(dumps(problem), status=problem["status"], mimetype=PROBLEM_JSON)


def error_response(error: BaseException) -> Response:
    """The problem response for an exception, with the headers HTTP requires of its status
    (405's Allow: the methods the URL has; 401's WWW-Authenticate)."""
    response = problem_response(problem_for(error))
    if isinstance(error, HTTPException):
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers.add(name, value)
    if isinstance(error, CaseError):
        response.headers.extend(error.headers())
    return response


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status=status, mimetype="application/json")


def file_response(content: bytes, media_type: str, filename: str) -> Response:
    """A document (a PDF) to show in the browser, saved under `filename`: as it is when ASCII, else
    with an ASCII stand-in and the real name in RFC 6266's `filename*` (UTF-8)."""
    response = Response(content, mimetype=media_type)
    if filename.isascii():
        response.headers.set("Content-Disposition", "inline", filename=filename)
        return response
    stand_in = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    stand_in = re.sub(r'["\\]', "_", stand_in).strip() or "file"
    response.headers["Content-Disposition"] = f"inline; filename=\"{stand_in}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return response


@dataclass
class Paged:
    """A page of a list, answered as `{<key>: [...], "next": <cursor>}` with a `Link: <…>; rel="next"` header."""

    key: str
    page: Page


def paged_response(request: Request, paged: Paged) -> Response:
    next_cursor = paged.page.next_cursor
    response = json_response({paged.key: paged.page.items, "next": next_cursor})
    if next_cursor is not None:
        arguments = [(name, value) for name, value in request.args.items(multi=True) if name != "cursor"]
        link = f"{request.path}?{urlencode([*arguments, ('cursor', next_cursor)])}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response


def problem_for(error: BaseException) -> dict[str, Any]:
    """The one mapping from an exception to a problem document."""
    if isinstance(error, CaseError):
        return error.problem()
    if isinstance(error, HTTPException):
        return {
            "type": "about:blank",
            "title": error.name,
            "status": error.code or 500,
            "detail": error.description,
        }
    return {
        "type": "about:blank",
        "title": "Internal server error",
        "status": 500,
        "detail": "The service failed to handle the request; it has been logged.",
    }


class ProblemWsgiApp(WsgiApp):
    """Unknown routes and wrong methods answer in problem+json too."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ, shallow=True)
        with within_request(request):
            adapter = self.url_map.bind_to_environ(environ)
            try:
                provider, values = adapter.match()
                request.path_values = values
                response = provider.handle_request(request)
            except HTTPException as error:
                response = error_response(error)
        response.headers[REQUEST_ID_HEADER] = request_id_of(request)
        return response(environ, start_response)


# eventlet refuses longer request lines with a bare 414; up to this length a request reaches the
# routes, so an over-long query parameter (a 10 kB search) gets its 400 naming the parameter.
MAX_REQUEST_LINE_BYTES = 64 * 1024


class ProblemWebServer(WebServer):
    telemetry = Telemetry()

    def get_wsgi_app(self) -> MeasuredWsgiApp:
        return MeasuredWsgiApp(ProblemWsgiApp(self), self.telemetry)  # every answer counted and timed

    def get_wsgi_server(self, sock: Any, wsgi_app: Any, protocol: Any = None, debug: bool = False) -> Any:
        server = super().get_wsgi_server(sock, wsgi_app, debug=debug, **({"protocol": protocol} if protocol else {}))
        server.url_length_limit = MAX_REQUEST_LINE_BYTES
        return server


class HttpEntrypoint(HttpRequestHandler):
    server = ProblemWebServer()

    def __init__(self, method: str, url: str, **kwargs: Any):
        kwargs.setdefault("expected_exceptions", EXPECTED_ERRORS)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request: Request) -> Response:
        request.environ[ROUTE_ENVIRON_KEY] = self.url  # /metrics counts it by its rule, never the raw path
        return super().handle_request(request)

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if isinstance(result, tuple):
            status, payload = result
            return json_response(payload, status)
        return json_response(result)

    def response_from_exception(self, exc: BaseException) -> Response:
        response = error_response(exc)
        if response.status_code >= 500:
            log.error("request failed", exc_info=exc)
        return response


def http(method: str, url: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A nameko HTTP entrypoint whose method runs within its request's context.

    nameko runs the method in a green thread of its own, which starts with an empty context
    (eventlet does not copy context variables into a new green thread), so it is set there.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def handler(service: Any, request: Request, *args: Any, **path_values: Any) -> Any:
            with within_request(request):
                return function(service, request, *args, **path_values)

        return HttpEntrypoint.decorator(method, url, **kwargs)(handler)

    return decorate


MAX_BODY_BYTES = 1024 * 1024


def read_json(request: Request) -> Any:
    request.max_content_length = MAX_BODY_BYTES  # larger bodies get 413
    raw = request.get_data()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest.for_field("body", "not UTF-8") from None
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except RecursionError:
        raise InvalidRequest.for_field("body", "JSON nested too deeply") from None
    except ValueError as error:
        raise InvalidRequest.for_field("body", f"not valid JSON: {error}") from None


def read_raw(request: Request, media_types: tuple[str, ...], max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """A body taken as it is (a file), of one of the declared media types (415 naming Content-Type
    otherwise) and at most `max_bytes` long (413 naming body otherwise): {body, media_type, content_type
    (the header as given, parameters included)}."""
    if request.mimetype not in media_types:
        raise UnsupportedMediaType.for_field("Content-Type", f"{request.mimetype or 'none'}; expected one of "
                                             f"{', '.join(media_types)}")
    if request.content_length is None and request.headers.get("Transfer-Encoding"):
        # eventlet's server reads a chunked body as empty here, another server might cut it at the limit:
        # either way the file would not be what was sent, so its length must be declared
        raise LengthRequired("Send the file with a Content-Length header (not in chunks)")
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyTooLarge(max_bytes)
    request.max_content_length = max_bytes
    try:
        body = request.get_data()
    except RequestEntityTooLarge:
        raise BodyTooLarge(max_bytes) from None
    if len(body) > max_bytes:
        raise BodyTooLarge(max_bytes)
    return {"body": body, "media_type": request.mimetype, "content_type": request.content_type}


def load_body(schema: Schema, request: Request) -> dict[str, Any]:
    return load(schema, read_json(request))


def load_query(schema: Schema, request: Request) -> dict[str, Any]:
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise InvalidRequest([{"field": name, "message": "given more than once"} for name in repeated])
    return load(schema, request.args.to_dict())


def load(schema: Schema, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidRequest.for_field("body", "a JSON object is required")
    try:
        return schema.load(data)
    except ValidationError as error:
        raise InvalidRequest.from_marshmallow(error.messages) from None
