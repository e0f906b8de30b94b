"""What the worker tests drive the stack with: a Lambda-like SQS event source, AWS call faults, the shop."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from localcloud.spec import StackSpec
from tests.support.events import api_event, json_body
from tests.support.sqs_events import sqs_event

REGION = "us-east-1"
Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


class SimulatedCrash(BaseException):
    """The worker process dying mid-job: nothing in the handler may catch it, as nothing could."""


@dataclass
class _Fault:
    service: str
    operation: str
    when: Callable[[dict[str, Any]], bool]
    error: Callable[[str], BaseException]
    times: int


@dataclass
class AwsCalls:
    """Every AWS API call made in the test, and faults injected into chosen ones."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)

    def fail(
        self,
        service: str,
        operation: str,
        *,
        code: str = "ServiceUnavailable",
        status: int = 503,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
    ) -> None:
        """The next `times` matching calls fail with an AWS error of `code` and HTTP `status`."""

        def error(operation_name: str) -> BaseException:
            response: Any = {
                "Error": {"Code": code, "Message": "injected by the test"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return ClientError(response, operation_name)

        self._faults.append(_Fault(service, operation, when, error, times))

    def time_out(self, service: str, operation: str) -> None:
        """The next matching call is sent and gets no answer before the client's read timeout."""
        self._faults.append(
            _Fault(service, operation, lambda params: True, lambda name: ReadTimeoutError(endpoint_url=name), 1)
        )

    def crash(self, service: str, operation: str, *, when: Callable[[dict[str, Any]], bool]) -> None:
        """The next matching call kills the worker instead of reaching AWS."""
        self._faults.append(_Fault(service, operation, when, SimulatedCrash, 1))

    def of(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [params for name, op, params in self.calls if (name, op) == (service, operation)]

    def intercept(self, service: str, operation: str, params: dict[str, Any]) -> None:
        self.calls.append((service, operation, params))
        for fault in self._faults:
            if fault.times > 0 and (fault.service, fault.operation) == (service, operation) and fault.when(params):
                fault.times -= 1
                raise fault.error(operation)


@dataclass
class Delivery:
    """One batch handed to a worker, and its partial batch response."""

    messages: list[dict[str, Any]]
    response: dict[str, Any]

    @property
    def failed_ids(self) -> list[str]:
        return [failure["itemIdentifier"] for failure in self.response["batchItemFailures"]]


class SqsEventSource:
    """Hands a queue's messages to a worker as Lambda's SQS event source mapping does.

    It receives up to a batch, invokes the handler with the event Lambda would build, and deletes
    every message the partial batch response does not name. Failed messages stay in the queue,
    hidden for whatever visibility the worker gave them; `let_time_pass` makes them visible again.
    """

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, worker: str, invoke: Invoke) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self._queue_arn = queue_arn
        self._worker = worker
        self._invoke = invoke

    def receive(self, max_messages: int = 10, *, visibility: int | None = None) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"VisibilityTimeout": visibility} if visibility is not None else {}
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
            **request,
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def peek(self) -> list[dict[str, Any]]:
        """The messages waiting, left visible (each peek counts as a receive, as on SQS)."""
        return self.receive(visibility=0)

    def event_for(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return sqs_event(self._worker, messages, queue_arn=self._queue_arn)

    def deliver(self, messages: list[dict[str, Any]]) -> Delivery:
        response = self._invoke(self._worker, self.event_for(messages))
        delivery = Delivery(messages, response)
        for message in messages:
            if message["MessageId"] not in delivery.failed_ids:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return delivery

    def poll(self, max_messages: int = 10) -> Delivery | None:
        messages = self.receive(max_messages)
        return self.deliver(messages) if messages else None

    def drain(self) -> list[Delivery]:
        """Poll until the queue shows nothing (failed messages stay hidden for their backoff)."""
        deliveries = []
        while (delivery := self.poll()) is not None:
            deliveries.append(delivery)
        return deliveries

    def let_time_pass(self, delivery: Delivery) -> None:
        """The failed messages' retry delays elapse: they are visible again."""
        for message in delivery.messages:
            if message["MessageId"] in delivery.failed_ids:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )

    def depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@dataclass
class Shop:
    """The stack with its workers, driven through the handlers as the real events would drive them."""

    stack: StackSpec
    env: dict[str, str]
    sqs: Any
    invoke: Invoke
    payments: SqsEventSource
    notifications: SqsEventSource
    _emails: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def customer(self) -> str:
        """Register a new customer; their user id."""
        body = {
            "email": f"customer{next(self._emails)}@example.com",
            "password": "correct horse battery",
            "name": "Ada",
        }
        response = self.invoke("register", api_event("register", body=body, request_id=str(uuid.uuid4())))
        assert response["statusCode"] == 201, response
        return str(json_body(response)["id"])

    def email_of(self, user_id: str) -> str:
        response = self.invoke("me", api_event("me", user_id=user_id))
        return str(json_body(response)["email"])

    def place_order(self, user_id: str, payment_method: str = "pm_card_visa") -> str:
        """Place an order of EUR 28.00; its id."""
        body = {
            "items": [
                {"sku": "BOOK-001", "quantity": 2},
                {"sku": "PEN-042", "quantity": 1},
            ],
            "currency": "EUR",
            "payment_method": payment_method,
        }
        event = api_event(
            "create_order",
            user_id=user_id,
            body=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            request_id=str(uuid.uuid4()),
        )
        response = self.invoke("create_order", event)
        assert response["statusCode"] == 201, response
        return str(json_body(response)["id"])

    def order_status(self, user_id: str, order_id: str) -> str:
        event = api_event("get_order", user_id=user_id, path_parameters={"order_id": order_id})
        return str(json_body(self.invoke("get_order", event))["status"])

    def mail_to(self, address: str) -> list[str]:
        """Subjects of the email SES accepted for `address`, in sending order."""
        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        return [message.subject for message in sent if address in message.destinations.get("ToAddresses", [])]

    def dead_letters(self, queue: str) -> list[dict[str, Any]]:
        """Messages parked in a dead-letter queue ("payments" or "notifications"), body decoded if JSON."""
        url = self.env["PAYMENTS_DLQ_URL" if queue == "payments" else "NOTIFICATIONS_DLQ_URL"]
        response = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        )
        return response.get("Messages", [])  # type: ignore[no-any-return]

    def email_jobs(self) -> list[dict[str, Any]]:
        """The jobs waiting in the notifications queue, left in place."""
        return [json.loads(message["Body"]) for message in self.notifications.peek()]
