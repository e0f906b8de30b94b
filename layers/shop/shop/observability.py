"""The one logger, metrics and tracer every function uses, with secrets redacted from logs."""

from __future__ import annotations

import re
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

SERVICE = "shop-api"
NAMESPACE = "ShopApi"
REDACTED = "[REDACTED]"

_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|cookie|api[_-]?key|signature|card", re.IGNORECASE)
# A JWT anywhere in a string: three base64url parts, the first starting with `{"` encoded.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(value: Any) -> Any:
    """Replace what must never reach a log: secret-named fields, bearer tokens, JWTs."""
    if isinstance(value, dict):
        return {key: REDACTED if _is_secret_key(key) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _JWT.sub(REDACTED, _BEARER.sub(r"\1" + REDACTED, value))
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and _SECRET_KEYS.search(key) is not None and key != "correlation_id"


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting every record before it is serialised."""

    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return super().serialize(redact(dict(log)))


# Powertools warns on every flush of an invocation that added no metric of its own (most routes
# add only the cold-start one): a line of noise per request in every function's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
