"""The services as the web app reaches them: over their HTTP APIs, with the signed-in user's token.

The services stay the only place where rules live. What they refuse comes back as `Refused`
(their problem+json, for the page to show beside the form), a service that does not answer as
`ServiceDown` (a page that says so), a token they no longer take as `SignedOut`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import requests

from shared.http import REQUEST_ID_HEADER

SERVICE_NAMES = {
    "initiatives": "ärendetjänsten (initiativärenden)",
    "letters_of_intent": "tjänsten för avsiktsförklaringar och överenskommelser",
    "meetings": "sammanträdestjänsten",
    "evaluations": "utvärderingstjänsten",
    "audit": "granskningstjänsten",
}


class ServiceDown(Exception):
    """A service did not answer, or failed (5xx): the page says which, and that nothing was lost."""

    def __init__(self, service: str, reason: str):
        self.service = service
        self.reason = reason
        super().__init__(f"{service}: {reason}")

    @property
    def service_name(self) -> str:
        return SERVICE_NAMES.get(self.service, self.service)


class Refused(Exception):
    """The service refused the request (4xx); `problem` is its application/problem+json body."""

    def __init__(self, status: int, problem: Mapping[str, Any]):
        self.status = status
        self.problem = dict(problem)
        super().__init__(f"{status}: {self.problem.get('detail') or self.problem.get('title')}")


class SignedOut(Refused):
    """401: the token has expired or is no longer known; the user signs in again."""


@dataclass
class Services:
    """One page's calls: the user's token and the request's id go with each (the id correlates the
    services' log lines and the events a form records with the page that sent it)."""

    urls: Mapping[str, str]
    token: str | None
    request_id: str
    timeout: float = 15.0
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self.request("GET", service, path, params=_present(params or {})))

    def post(self, service: str, path: str, body: Mapping[str, Any]) -> Any:
        return self._json(self.request("POST", service, path, json=body))

    def request(self, method: str, service: str, path: str, accept: str = "application/json",
                **kwargs: Any) -> requests.Response:
        """The response when it is 2xx; otherwise raises (Refused, SignedOut, ServiceDown)."""
        headers = {**kwargs.pop("headers", {}), REQUEST_ID_HEADER: self.request_id, "Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.request(method, self.urls[service] + path, headers=headers,
                                            timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise ServiceDown(service, type(error).__name__) from None
        if response.status_code >= 500:
            raise ServiceDown(service, f"HTTP {response.status_code}: {_problem(response).get('detail', '')}")
        if response.status_code == 401:
            raise SignedOut(401, _problem(response))
        if response.status_code >= 400:
            raise Refused(response.status_code, _problem(response))
        return response

    @staticmethod
    def _json(response: requests.Response) -> Any:
        return response.json()


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"title": response.reason or "", "status": response.status_code, "detail": response.text[:300]}
    return body if isinstance(body, dict) else {"detail": str(body)}


def _present(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the empty ones a form sends for filters left blank."""
    return {key: value for key, value in params.items() if value not in (None, "", [])}
