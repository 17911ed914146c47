"""Routes, declared once: the nameko entrypoint, its auth and loading, and its OpenAPI entry.

A route declared with `body` or `query` and `roles` is called as
`method(self, actor, loaded, **path_values)`: the wrapper authorises the bearer token
(through the service's `auth` dependency) and loads the marshmallow schema, so every
entrypoint body is only the use case. Without roles the method gets the raw request.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared.http import (MAX_BODY_BYTES, Paged, error_response, http, json_response, load_body, load_query,
                         paged_response, read_raw)

log = logging.getLogger(__name__)
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_FORMATS = {"uuid": {"type": "string", "format": "uuid"}, "int": {"type": "integer", "minimum": 0}}
# The response of a route that answers a file (shared.http.file_response), with media_types naming its
# type: documented as binary, with the Content-Disposition that names the file.
FILE = {"type": "string", "format": "binary"}


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(
        fields.Dict(keys=fields.String(), values=fields.String()),
        metadata={"description": "one entry per invalid field: {field, message}"},
    )
    command = fields.String(metadata={"description": "the refused command (409)"})
    state = fields.String(metadata={"description": "the aggregate's state (409)"})
    allowed_commands = fields.List(fields.String())
    rule = fields.String(metadata={"description": "the rule of procedure the request broke (409 rule-broken), "
                                                  "e.g. quorum, two-levels, casting-vote"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "/ready: each check and its state, ok or what is wrong (503)"})


@dataclass
class Route:
    method: str
    path: str
    summary: str
    operation_id: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: Any
    status: int
    roles: tuple[str, ...] | None
    errors: tuple[int, ...]
    media_types: tuple[str, ...] = ("application/json",)
    raw_body: tuple[str, ...] = ()
    raw_body_limit: Callable[[Any], int] | None = None
    public: bool = False


@dataclass
class ApiDoc:
    title: str
    version: str
    description: str
    routes: list[Route] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[Schema] | None = None,
        query: type[Schema] | None = None,
        response: Any = None,
        status: int = 200,
        roles: tuple[str, ...] | None = None,
        errors: tuple[int, ...] = (),
        media_types: tuple[str, ...] = ("application/json",),
        raw_body: tuple[str, ...] = (),
        raw_body_limit: Callable[[Any], int] | None = None,
        public: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declares a nameko HTTP entrypoint and documents it in one place. `raw_body`: the media types of a
        body taken as it is (a file): the method's loaded dict has the query's fields, `body` (bytes) and
        `media_type`; `raw_body_limit`, given the service, says how many bytes it may have (default
        MAX_BODY_BYTES; 413 above it). `public`: no token is asked for; the query is loaded all the same and the
        method is called as `method(self, request, loaded, **path_values)` (it needs the request's URL)."""
        if public and roles is not None:
            raise ValueError(f"{path}: a public route has no roles")

        def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
            self.routes.append(
                Route(method, path, summary, function.__name__, body, query,
                      response, status, roles, errors, media_types, raw_body, raw_body_limit, public)
            )
            if public:
                handler = _public(function, query)
            else:
                handler = function if roles is None else _authorised(function, roles, body, query, status, raw_body,
                                                                      raw_body_limit)
            return http(method, path)(handler)

        return decorate

    def spec(self) -> dict[str, Any]:
        spec = APISpec(
            title=self.title,
            version=self.version,
            openapi_version="3.0.3",
            info={"description": self.description},
            plugins=[MarshmallowPlugin()],
        )
        spec.components.schema("Problem", schema=ProblemSchema)
        spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            path, parameters = _openapi_path(route.path)
            operation: dict[str, Any] = {
                "summary": route.summary,
                "operationId": route.operation_id,
                "parameters": parameters,
                "responses": {str(route.status): _content(route.response, "Success", route.media_types)},
            }
            if route.response is FILE:
                operation["responses"][str(route.status)]["headers"] = {"Content-Disposition": {
                    "description": 'inline; filename="<name>.<extension>"', "schema": {"type": "string"}}}
            if route.query is not None:
                operation["parameters"] = parameters + [{"in": "query", "schema": route.query}]
            if route.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": route.body}},
                }
                operation["responses"]["400"] = _problem("Invalid request")
                operation["responses"]["413"] = _problem(f"The body is larger than {MAX_BODY_BYTES} bytes")
            if route.raw_body:
                operation["requestBody"] = {"required": True, "content": {
                    media_type: {"schema": FILE} for media_type in route.raw_body}}
                operation["responses"]["413"] = _problem(
                    f"The body is larger than {MAX_BODY_BYTES} bytes" if route.raw_body_limit is None
                    else "The body is larger than the service's limit")
                operation["responses"]["415"] = _problem("The body is not of a media type the route takes")
            if route.query is not None:
                operation["responses"]["400"] = _problem("Invalid request")
                if "cursor" in route.query._declared_fields:
                    operation["responses"][str(route.status)]["headers"] = {"Link": {
                        "description": 'the next page: <url>; rel="next" (absent on the last page)',
                        "schema": {"type": "string"}}}
            if route.public:
                operation["security"] = []
                operation["description"] = "Public: no token"
            if route.roles is not None:
                operation["security"] = [{"bearer": []}]
                operation["description"] = "Roles: " + ", ".join(route.roles)
                operation["responses"]["401"] = _problem("No or unknown bearer token")
                operation["responses"]["403"] = _problem("The token's roles do not allow this")
            for status in route.errors:
                operation["responses"][str(status)] = _problem(_ERROR_TEXT[status])
            paths.setdefault(path, {})[route.method.lower()] = operation
        for path, operations in paths.items():
            spec.path(path=path, operations=operations)
        return spec.to_dict()


def _authorised(
    function: Callable[..., Any],
    roles: tuple[str, ...],
    body: type[Schema] | None,
    query: type[Schema] | None,
    status: int,
    raw_body: tuple[str, ...] = (),
    raw_body_limit: Callable[[Any], int] | None = None,
) -> Callable[..., Any]:
    @functools.wraps(function)
    def handler(service: Any, request: Any, **path_values: Any) -> Any:
        actor = service.auth.authorize(request, roles)
        if raw_body:
            loaded = {**(load_query(query(), request) if query is not None else {}),
                      **read_raw(request, raw_body, MAX_BODY_BYTES if raw_body_limit is None
                                 else raw_body_limit(service))}
        elif body is not None:
            loaded = load_body(body(), request)
        elif query is not None:
            loaded = load_query(query(), request)
        else:
            loaded = {}
        result = function(service, actor, loaded, **path_values)
        if isinstance(result, Paged):
            return paged_response(request, result)
        if isinstance(result, tuple):  # (status, payload): the method chose among its documented statuses
            return result
        return (status, result) if status != 200 else result

    return handler


def _public(function: Callable[..., Any], query: type[Schema] | None) -> Callable[..., Any]:
    """A public route's answers, its errors too, may be read by a page of any origin (CORS
    `Access-Control-Allow-Origin: *`, as OParl 1.1 asks, spec 2-06): it holds nothing a token guards."""
    @functools.wraps(function)
    def handler(service: Any, request: Any, **path_values: Any) -> Any:
        try:
            loaded = load_query(query(), request) if query is not None else {}
            response = json_response(function(service, request, loaded, **path_values))
        except Exception as error:  # noqa: BLE001 - answered as the entrypoint would, with the header
            response = error_response(error)
            if response.status_code >= 500:
                log.error("request failed", exc_info=error)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return handler


_ERROR_TEXT = {
    404: "Not found",
    409: "Not allowed in the current state, by the rules of procedure, or changed concurrently",
    502: "A service this one reads could not be read",
    503: "The event store is unavailable (/ready: not ready, naming what is not)",
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": "Problem"}},
    }


def _content(response: Any, description: str, media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    if response is None:
        return {"description": description}
    return {"description": description, "content": {media_type: {"schema": response} for media_type in media_types}}


def _openapi_path(path: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": _FORMATS.get(converter or "", {"type": "string"}),
        }
        for converter, name in _CONVERTER.findall(path)
    ]
    return _CONVERTER.sub(lambda match: "{" + match.group(2) + "}", path), parameters
