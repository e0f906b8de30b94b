"""The SES v2 adapter of the EmailSender port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError

from shop.errors import Misconfigured, OutcomeUnknown, Unavailable
from shop.service_layer.ports import EmailMessage

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# Throttling and sending quotas clear with time. Everything else SES refuses (an unverified
# sender, a paused account, the sandbox refusing a recipient) needs an operator.
_TRANSIENT_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "ThrottlingException", "Throttling", "ServiceUnavailable"}
)


class SesEmailSender:
    """Sends text and HTML email from the configured sender through SES v2."""

    def __init__(self, client: SESV2Client, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, message: EmailMessage) -> str:
        try:
            response = self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": message.text, "Charset": "UTF-8"},
                            "Html": {"Data": message.html, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            # The request went out and no answer came back: SES may have accepted it.
            raise OutcomeUnknown("SES did not answer the send") from exc
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _TRANSIENT_CODES or status >= 500:
                raise Unavailable(f"SES refused the send for now: {code}") from exc
            raise Misconfigured(f"SES refused the send: {code}: {exc.response['Error'].get('Message', '')}") from exc
        except BotoCoreError as exc:
            # Connection refused or timed out before the request was sent: nothing went out.
            raise Unavailable(f"SES is unreachable: {type(exc).__name__}") from exc
        return response["MessageId"]
