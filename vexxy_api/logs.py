"""The API's log lines: plain text (the default) or one JSON object per line (`VEXXY_LOG_FORMAT=json`).

Both carry a UTC timestamp with its offset. An API event (`log_event`) is a JSON object in either
form; in the JSON form its fields sit beside `time`, `level` and `logger`, and every line written
while a request is handled carries that request's correlation id, whoever logged it (uvicorn, the
database layer, a route).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

LOG_FORMATS = ("text", "json")
HANDLER_NAME = "vexxy-api"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
_RESERVED = ("time", "level", "logger")

current_correlation_id: ContextVar[str | None] = ContextVar("vexxy_correlation_id", default=None)


def utc_timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def log_event(logger: logging.Logger, level: int, event: str, **fields) -> None:
    """One API event: its fields as JSON in the text form, beside the line's own in the JSON form."""
    payload = {"event": event, **fields}
    logger.log(level, json.dumps(payload, default=str), extra={"vexxy_event": payload})


class TextFormatter(logging.Formatter):
    """`2026-01-02T03:04:05.678+00:00 INFO {"event": ...}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{utc_timestamp(record.created)} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, with offset), level, logger, the event's fields or the message,
    the correlation id of the request being handled, and the exception if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {"time": utc_timestamp(record.created), "level": record.levelname, "logger": record.name}
        event = getattr(record, "vexxy_event", None)
        if isinstance(event, dict):
            line.update({key: value for key, value in event.items() if key not in _RESERVED})
        else:
            line["message"] = record.getMessage()
        correlation = current_correlation_id.get()
        if correlation and "correlation_id" not in line:
            line["correlation_id"] = correlation
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is written (not when the handler was made)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(log_format: str) -> None:
    """The API's handler on the root logger, in `log_format`, at INFO; in the JSON form uvicorn's own loggers
    write through it too, so every line the process writes is one JSON object. A process whose logging
    another part already configured (a handler on the root logger that is not this one) is left as it is."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        if root.handlers:
            return
        handler = _StderrHandler()
        handler.set_name(HANDLER_NAME)
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    if log_format == "json":
        for name in UVICORN_LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
