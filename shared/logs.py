"""Log lines every service writes alike: one JSON object a line (python-json-logger), or text for
development (`LOG_FORMAT=text`), each with the service and what the work is for (shared.context).

Wired by each service's config.yml (LOGGING, applied by `nameko run` through dictConfig): the
filter sits on the handler, so records of every logger (nameko's, kombu's, ours) carry the fields.
"""
from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from shared.context import current

# What a line carries about the work, where it is known (never a token: the actor is a name).
CONTEXT_FIELDS = ("request_id", "actor", "diary_number", "correlation_id", "causation_id")
# The first fields of a JSON line, in this order; then the context, then anything passed as `extra`.
LEADING_FIELDS = ("time", "level", "service", "logger", "message")


class WorkContextFilter(logging.Filter):
    """Adds `service` and the work's context (request id, actor, diary number ...) to every record."""

    def __init__(self, service: str = "", name: str = ""):
        super().__init__(name)
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "service"):
            record.service = self.service or None
        context = current()
        for field in CONTEXT_FIELDS:
            if getattr(record, field, None) is None:
                setattr(record, field, getattr(context, field))
        return True


class JsonFormatter(_JsonFormatter):
    """`{"time": ..., "level": ..., "service": ..., "logger": ..., "message": ..., "request_id": ...}`;
    fields not known for the work (None) are left out."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # UTC, ISO 8601
        super().__init__("%(levelname)s %(name)s %(message)s", **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered = {field: log_data.pop(field) for field in (*LEADING_FIELDS, *CONTEXT_FIELDS) if field in log_data}
        ordered.update(log_data)
        return {key: value for key, value in ordered.items() if value is not None}


class TextFormatter(logging.Formatter):
    """`2026-12-01 20:14:18,123 INFO initiatives shared.outbox: message [request_id=... actor=...]`"""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(service)s %(name)s: %(message)s")
        super().__init__(**kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "service", None) is None:
            record.service = "-"
        line = super().format(record)
        known = [f"{field}={getattr(record, field)}" for field in CONTEXT_FIELDS if getattr(record, field, None)]
        if not known:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} [{' '.join(known)}]{newline}{rest}"
