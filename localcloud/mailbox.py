"""Mail accepted by the emulated SES, completed with what moto does not keep of a send.

moto keeps one body per simple message (the HTML one when a send has both) and no send time, so
the emulator watches SES send requests on their way into moto and records both bodies and the
time in a `MailLog`, keyed by the message id moto answered with.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

from moto.ses.models import Message, RawMessage, SESBackend, TemplateMessage, ses_backends

SES_V2_SEND_PATH = "/v2/email/outbound-emails"
SES_V1_SEND_ACTIONS = frozenset({"SendEmail", "SendRawEmail", "SendTemplatedEmail"})
_V1_MESSAGE_ID = re.compile(r"<MessageId>([^<]+)</MessageId>")


@dataclass(frozen=True)
class MailDetails:
    """What moto drops from a send: when it happened and both bodies of a simple message."""

    sent_at: datetime
    text: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class SentEmail:
    """One message accepted by the emulated SES (v1 or v2), as a person reads it."""

    id: str
    # None for mail this emulator did not see being sent (restored from a state file without it).
    timestamp: datetime | None
    source: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str | None
    text: str | None
    html: str | None
    # The whole MIME message of a raw send.
    raw: str | None = None
    template: str | None = None
    template_data: str | None = None


class MailLog:
    """Details of sent mail by SES message id; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._details: dict[str, MailDetails] = {}

    def record(self, message_id: str, details: MailDetails) -> None:
        """Remember the details of one sent message."""
        with self._lock:
            self._details[message_id] = details

    def get(self, message_id: str) -> MailDetails | None:
        """The details of one message, if this log saw it being sent."""
        with self._lock:
            return self._details.get(message_id)

    def clear(self) -> None:
        """Forget every message."""
        with self._lock:
            self._details.clear()


@dataclass(frozen=True)
class SesSendRequest:
    """The parts of an SES send request that moto does not keep."""

    api_version: int
    text: str | None
    html: str | None

    def message_id_from(self, response_body: bytes) -> str | None:
        """The message id in moto's successful answer to this request."""
        if self.api_version == 1:
            match = _V1_MESSAGE_ID.search(response_body.decode("utf-8", errors="replace"))
            return match.group(1) if match else None
        try:
            answer = json.loads(response_body)
        except ValueError:
            return None
        message_id = answer.get("MessageId") if isinstance(answer, dict) else None
        return message_id if isinstance(message_id, str) else None


def is_form_post(environ: Mapping[str, Any]) -> bool:
    """Whether a request may be an SES v1 call (query protocol: a form-encoded POST)."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    return environ.get("REQUEST_METHOD") == "POST" and content_type.startswith("application/x-www-form-urlencoded")


def is_ses_v2_send(environ: Mapping[str, Any]) -> bool:
    """Whether a request is an SES v2 SendEmail call."""
    return environ.get("REQUEST_METHOD") == "POST" and str(environ.get("PATH_INFO", "")).rstrip("/") == SES_V2_SEND_PATH


def parse_ses_send(environ: Mapping[str, Any], body: bytes) -> SesSendRequest | None:
    """The send request in an HTTP request to the emulator, or None when it is something else."""
    if is_ses_v2_send(environ):
        return _parse_v2_send(body)
    if is_form_post(environ):
        return _parse_v1_send(body)
    return None


def _parse_v1_send(body: bytes) -> SesSendRequest | None:
    form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    if form.get("Action", [""])[0] not in SES_V1_SEND_ACTIONS:
        return None
    text = form.get("Message.Body.Text.Data", [None])[0]
    html = form.get("Message.Body.Html.Data", [None])[0]
    return SesSendRequest(api_version=1, text=text, html=html)


def _parse_v2_send(body: bytes) -> SesSendRequest | None:
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    simple_body = _dig(request, "Content", "Simple", "Body")
    return SesSendRequest(
        api_version=2,
        text=_as_text(_dig(simple_body, "Text", "Data")),
        html=_as_text(_dig(simple_body, "Html", "Data")),
    )


def _dig(document: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _as_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def ses_backends_in_use() -> Iterator[SESBackend]:
    """Every SES backend (account and region) that exists in this process."""
    for regions in list(ses_backends.values()):
        yield from list(regions.values())


def collect_sent_mail(log: MailLog) -> list[SentEmail]:
    """Every message the emulated SES accepted, in every account and region, oldest first."""
    return [
        describe_sent_message(message, log.get(message.id))
        for backend in ses_backends_in_use()
        for message in list(backend.sent_messages)
    ]


def describe_sent_message(message: object, details: MailDetails | None) -> SentEmail:
    """A moto SES message as a person reads it."""
    timestamp = details.sent_at if details else None
    if isinstance(message, Message):
        destinations = message.destinations
        text, html = (details.text, details.html) if details else _split_single_body(message.body)
        return SentEmail(
            id=message.id,
            timestamp=timestamp,
            source=message.source,
            to=tuple(destinations.get("ToAddresses", [])),
            cc=tuple(destinations.get("CcAddresses", [])),
            bcc=tuple(destinations.get("BccAddresses", [])),
            subject=message.subject,
            text=text,
            html=html,
        )
    if isinstance(message, RawMessage):
        return _describe_raw(message, timestamp)
    if isinstance(message, TemplateMessage):
        destinations = message.destinations if isinstance(message.destinations, dict) else {}
        return SentEmail(
            id=message.id,
            timestamp=timestamp,
            source=message.source,
            to=tuple(destinations.get("ToAddresses", [])),
            cc=tuple(destinations.get("CcAddresses", [])),
            bcc=tuple(destinations.get("BccAddresses", [])),
            subject=None,
            text=None,
            html=None,
            template=message.template,
            template_data=message.template_data,
        )
    raise TypeError(f"unexpected kind of sent mail in moto: {type(message).__name__}")


_HTML_TAG = re.compile(r"<\s*[a-zA-Z!][^>]*>")


def _split_single_body(body: str) -> tuple[str | None, str | None]:
    # Without a recorded send, moto's single body is HTML exactly when the send had an HTML part;
    # markup is the only remaining evidence of that.
    return (None, body) if _HTML_TAG.search(body) else (body, None)


def _describe_raw(message: RawMessage, timestamp: datetime | None) -> SentEmail:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    to = _addresses(parsed, "To")
    cc = _addresses(parsed, "Cc")
    envelope_only = tuple(
        address for _, address in getaddresses(message.destinations) if address not in to and address not in cc
    )
    text_part = html_part = None
    if isinstance(parsed, EmailMessage):
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
    return SentEmail(
        id=message.id,
        timestamp=timestamp or _date_header(parsed),
        source=message.source,
        to=to,
        cc=cc,
        bcc=envelope_only,
        subject=parsed.get("Subject"),
        text=_part_content(text_part),
        html=_part_content(html_part),
        raw=message.raw_data,
    )


def _addresses(parsed: email.message.Message, header: str) -> tuple[str, ...]:
    values = [str(value) for value in parsed.get_all(header, [])]
    return tuple(address for _, address in getaddresses(values) if address)


def _date_header(parsed: email.message.Message) -> datetime | None:
    value = parsed.get("Date")
    if value is None:
        return None
    try:
        return parsedate_to_datetime(str(value)).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _part_content(part: object) -> str | None:
    if not isinstance(part, EmailMessage):
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def sent_email_to_json(mail: SentEmail) -> dict[str, object]:
    """The JSON form of a sent message, as the emulator serves it."""
    return {
        "id": mail.id,
        "timestamp": mail.timestamp.isoformat() if mail.timestamp else None,
        "source": mail.source,
        "to": list(mail.to),
        "cc": list(mail.cc),
        "bcc": list(mail.bcc),
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "raw": mail.raw,
        "template": mail.template,
        "template_data": mail.template_data,
    }


def sent_email_from_json(document: Mapping[str, Any]) -> SentEmail:
    """A sent message from the JSON the emulator serves; KeyError or TypeError when malformed."""
    timestamp = document["timestamp"]
    return SentEmail(
        id=str(document["id"]),
        timestamp=datetime.fromisoformat(timestamp) if timestamp else None,
        source=str(document["source"]),
        to=tuple(document["to"]),
        cc=tuple(document["cc"]),
        bcc=tuple(document["bcc"]),
        subject=document["subject"],
        text=document["text"],
        html=document["html"],
        raw=document["raw"],
        template=document["template"],
        template_data=document["template_data"],
    )
