"""What aggregates of every service share."""
from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

from shared.errors import CommandNotAllowed


class CommandsByState:
    """An aggregate whose state decides which commands it takes: one table, read by rule and 409 alike."""

    commands_by_state: ClassVar[dict[Any, tuple[str, ...]]]
    state: Enum

    def allowed_commands(self) -> tuple[str, ...]:
        return self.commands_by_state[self.state]

    def check_allows(self, command: str) -> None:
        if command not in self.allowed_commands():
            raise CommandNotAllowed(command, self.state.value, self.allowed_commands())
