"""The web app under test: its configuration over the services a test runs (the others down)."""
from __future__ import annotations

from typing import Any

from tests.support.services import AUTH_TOKEN_DIGESTS, free_port

SERVICES = ("initiatives", "letters_of_intent", "meetings", "evaluations", "audit")


def closed_url() -> str:
    """Where nothing listens: a service that is down."""
    return f"http://127.0.0.1:{free_port()}"


def web_config(amqp_uri: str, services: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """The web app reading `services` (name → URL); every other service is down. The test tokens are
    accepted, and the session cookie goes over http://."""
    return {
        "AMQP_URI": amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "WEB_SERVICES": {**{name: closed_url() for name in SERVICES}, **services},
        "AUTH_TOKEN_DIGESTS": AUTH_TOKEN_DIGESTS,
        "WEB_SECURE_COOKIE": "false",
        "DEVELOPMENT": "false",
        "WEB_SERVICE_TIMEOUT": 5,
        **overrides,
    }
