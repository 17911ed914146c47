"""The web app under test: its configuration over the services a test runs (the others down)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support.services import AUTH_TOKEN_DIGESTS, TEST_TOKENS, free_port

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


@dataclass
class Web:
    """A browser, as far as these pages need one: a session cookie, and forms sent from the site's pages."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def sign_in(self, role: str) -> "Web":
        response = self.send("/logga-in", {"token": TEST_TOKENS[role]["token"]})
        assert response.status_code == 303, response.text
        return self

    def get(self, path: str, status: int = 200, **params: Any) -> str:
        response = self.session.get(self.base_url + path, params=params, timeout=60)
        assert response.status_code == status, f"{path}: {response.status_code}\n{response.text[:3000]}"
        return response.text

    def send(self, path: str, form: dict[str, str]) -> requests.Response:
        return self.session.post(self.base_url + path, data=form, headers={"Origin": self.base_url},
                                 allow_redirects=False, timeout=60)

    def command(self, path: str, form: dict[str, str] | None = None) -> str:
        """A form that must succeed: 303 back to a page, which shows the notice; returns that page's path."""
        response = self.send(path, form or {})
        assert response.status_code == 303, f"{path}: {response.status_code}\n{response.text[:3000]}"
        location = response.headers["Location"]
        assert 'role="status"' in self.get(location)
        return location


def options(page: str, select_id: str) -> list[tuple[str, str]]:
    """A select's choices (value, text), the empty one left out."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {select_id}"
    return [(value, html.unescape(text)) for value, text in
            re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select.group(1))]


def section(page: str, marker: str, end: str) -> str:
    """The part of a page from one marker to the next `end` after it."""
    start = page.index(marker)
    return page[start:page.index(end, start)]
