"""The one logger, metrics and tracer every function uses, with secrets redacted from logs."""

from __future__ import annotations

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

# The rule is shared with localcloud's console, so it lives in a package of its own beside `shop`.
from secret_redaction import redact

SERVICE = "shop-api"
NAMESPACE = "ShopApi"


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
