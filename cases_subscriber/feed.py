"""A service's public event feed: `GET /events?after=<position>&limit=<n>` with a bearer token."""
from __future__ import annotations

from typing import Any

import requests

MAX_LIMIT = 1000  # the services answer at most this many notifications a page


class FeedError(Exception):
    """The feed could not be read (the service is down, or refused the token)."""


class Feed:
    """One service's feed. The token's role decides what is withheld as secret (docs/events.md)."""

    def __init__(self, base_url: str, token: str | None = None, session: requests.Session | None = None,
                 timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()
        self.timeout = timeout

    def events(self, after: int, limit: int) -> dict[str, Any]:
        """`{"events": [...], "last_position": n}`: the public events among the `limit` positions recorded
        after `after`; `last_position` is where the next page starts (== `after` at the feed's end)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        params = {"after": after, "limit": max(1, min(limit, MAX_LIMIT))}
        try:
            response = self.session.get(f"{self.base_url}/events", params=params, headers=headers,
                                        timeout=self.timeout)
        except requests.RequestException as error:
            raise FeedError(f"{self.base_url}/events could not be read: {type(error).__name__}") from None
        if response.status_code != 200:
            raise FeedError(f"{self.base_url}/events answered {response.status_code}: {response.text[:300]}")
        page = response.json()
        if not isinstance(page.get("events"), list) or not isinstance(page.get("last_position"), int):
            raise FeedError(f"{self.base_url}/events answered something that is not a feed page")
        return page
