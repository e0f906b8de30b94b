from __future__ import annotations

import json
import logging

import pytest

from secret_redaction import REDACTED, redact
from shop.observability import RedactingFormatter

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.abc_DEF-123"


def test_secret_named_fields_are_redacted_at_any_depth() -> None:
    record = {"event": {"headers": {"Authorization": "Bearer x"}, "body": {"password": "hunter2hunter2"}}}

    assert redact(record) == {"event": {"headers": {"Authorization": REDACTED}, "body": {"password": REDACTED}}}


def test_tokens_inside_free_text_are_redacted() -> None:
    text = redact(f"login ok, issued {JWT}; header was Bearer abc.def")

    assert JWT not in text and "abc.def" not in text


def test_the_correlation_id_survives() -> None:
    assert redact({"correlation_id": "req-1"}) == {"correlation_id": "req-1"}


def test_the_log_formatter_writes_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    formatter = RedactingFormatter()
    record = logging.LogRecord("t", logging.INFO, __file__, 1, f"token {JWT}", None, None)
    record.access_token = JWT

    line = formatter.format(record)

    assert JWT not in line
    assert json.loads(line)["access_token"] == REDACTED
