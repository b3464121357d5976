"""What operations see: one JSON line per log record on stdout, each carrying the request id, the
tenant schema and the user id; a line per request; optional error reporting to Sentry.

The request id comes from nginx (`X-Request-ID $request_id`, deploy/nginx/tenantdesk.conf) so a
line in nginx's access log and the app's lines of the same request share it; a request that did
not come through nginx gets a fresh one. The response carries it back in `X-Request-ID`.
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from django.utils.functional import empty

request_logger = logging.getLogger("tenantdesk.request")

# The request being served by this thread or task. asgiref copies context variables into the
# thread that runs sync middleware and views, so every record logged there sees it.
_current_request: contextvars.ContextVar = contextvars.ContextVar("tenantdesk_request", default=None)

# What we accept from upstream: nginx's 32 hex digits, a UUID, or any short token of these
# characters. Anything else (a header a client forged to break the log format) is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

# Attributes every LogRecord has; anything else was passed with `extra=` and goes in the line.
# uvicorn's color_message is its message again with terminal colour codes.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_CONTEXT_FIELDS = ("request_id", "schema", "user_id")


def _request_id_from(request) -> str:
    candidate = request.headers.get("X-Request-ID", "")
    if _REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """First in MIDDLEWARE: names the request, makes it the current request for logging, and logs
    one line when the response is ready (method, path, status, duration, and the context)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        request.request_id = _request_id_from(request)
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            # Health checks come every few seconds from Docker or a load balancer: not at INFO.
            level = logging.DEBUG if request.path == "/healthz" else logging.INFO
            request_logger.log(
                level,
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            _current_request.reset(token)


def log_context(request=None) -> dict:
    """request_id, schema and user_id of `request` (or of the current request). Never queries:
    the user is reported only once authentication has loaded it, so a log call cannot cost a
    session lookup (and /healthz stays query-free)."""
    request = request if request is not None else _current_request.get()
    context = dict.fromkeys(_CONTEXT_FIELDS)
    if request is not None:
        context["request_id"] = getattr(request, "request_id", None)
        tenant = getattr(request, "tenant", None)
        context["schema"] = getattr(tenant, "schema_name", None)
        user = request.__dict__.get("user")
        wrapped = getattr(user, "_wrapped", user)
        if wrapped is not empty and wrapped is not None and getattr(wrapped, "is_authenticated", False):
            context["user_id"] = wrapped.pk
    if context["schema"] is None:
        # Outside a request (Celery tasks: tenant-schemas-celery has set the task's schema).
        from django.db import connection

        context["schema"] = getattr(connection, "schema_name", None)
    return context


class RequestContextFilter(logging.Filter):
    """Adds request_id, schema and user_id to every record (None where there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)  # django.request passes the request along
        if not hasattr(request, "META"):
            request = None
        for key, value in log_context(request).items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request context, anything
    passed with `extra=`, and the traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_FIELDS:
            line[key] = getattr(record, key, None)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in line and key != "request":
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(*, json_lines: bool, level: str, celery_trace_level: str) -> dict:
    """LOGGING for settings.py. Production (LOG_FORMAT=json): every record as a JSON line on
    stdout, uvicorn's own lines included, and one line per request. Development and tests: plain
    messages on stderr as before, and uvicorn's access log instead of the request lines."""
    loggers = {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        "celery.app.trace": {"level": celery_trace_level},
        "tenantdesk.request": {"level": "INFO" if json_lines else "WARNING"},
    }
    if json_lines:
        # uvicorn set up its own handlers before it imported the app; send its lines through
        # ours. Its access log stays off (this config would otherwise revive it despite
        # `--no-access-log`): the request line carries more (request id, schema, user, duration).
        loggers["uvicorn"] = {"handlers": ["console"], "level": level, "propagate": False}
        loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    handler = {"class": "logging.StreamHandler", "filters": ["request_context"]}
    if json_lines:
        handler.update(stream="ext://sys.stdout", formatter="json")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "saas.observability.RequestContextFilter"}},
        "formatters": {"json": {"()": "saas.observability.JsonLinesFormatter"}},
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    """Error reports to Sentry, only when SENTRY_DSN is set. No personal data is sent (no emails,
    IP addresses, cookies or request bodies); events carry the request id and schema as tags."""
    import sentry_sdk

    def add_context(event, hint):
        context = log_context()
        tags = event.setdefault("tags", {})
        for key in ("request_id", "schema"):
            if context[key]:
                tags[key] = context[key]
        return event

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=add_context,
    )
