"""The raw HTTP limit: nameko's own HTTP entrypoint answering a small constant JSON body, no store.

Run by bench/services.py under `nameko run` exactly as the services are (the same Python, eventlet
and nameko web server), and loaded by the same client as their commands: what one HTTP round trip
costs before a service does any work. GET and POST both answer (GET tells that the process serves).
"""
from __future__ import annotations

from nameko.web.handlers import http
from werkzeug.wrappers import Response

BODY = '{"ok": true}'


class RawHttpService:
    name = "bench_raw_http"

    @http("GET,POST", "/noop")
    def noop(self, request: object) -> Response:
        return Response(BODY, status=200, mimetype="application/json")
