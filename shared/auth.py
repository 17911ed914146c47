"""Bearer tokens mapped to an actor and roles, from configuration."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from shared.errors import Forbidden, Unauthenticated

ROLES = ("registrar", "case_officer", "secretary", "strategist", "auditor")


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str]

    def as_event_actor(self) -> str:
        return self.name


class TokenTable:
    def __init__(self, tokens: Mapping[str, Mapping[str, Any]]):
        self._actors = {
            token: Actor(name=str(entry["actor"]), roles=frozenset(entry.get("roles", ())))
            for token, entry in tokens.items()
        }
        unknown = {role for actor in self._actors.values() for role in actor.roles} - set(ROLES)
        if unknown:
            raise ValueError(f"Unknown roles in AUTH_TOKENS: {sorted(unknown)}")

    def authenticate(self, request: Request) -> Actor:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send 'Authorization: Bearer <token>'")
        actor = self._actors.get(token.strip())
        if actor is None:
            raise Unauthenticated("The bearer token is not known")
        return actor

    def authorize(self, request: Request, allowed_roles: Iterable[str]) -> Actor:
        actor = self.authenticate(request)
        allowed = frozenset(allowed_roles)
        if not actor.roles & allowed:
            raise Forbidden(
                f"{actor.name} has roles {sorted(actor.roles)}; this needs one of {sorted(allowed)}"
            )
        return actor


def token_table_from(config: Mapping[str, Any]) -> TokenTable:
    """AUTH_TOKENS as JSON in the environment wins over the config file's table."""
    from_env = os.environ.get("AUTH_TOKENS")
    tokens = json.loads(from_env) if from_env else config.get("AUTH_TOKENS", {})
    return TokenTable(tokens)


class Auth(DependencyProvider):
    def setup(self) -> None:
        self.tokens = token_table_from(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> TokenTable:
        return self.tokens
