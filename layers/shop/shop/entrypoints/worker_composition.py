"""Builds the queue workers' and the maintenance function's services, once per cold start.

Kept apart from `shop.entrypoints.composition`, so these functions start without the API's password and
token libraries, and the API's route handlers without the stripe SDK.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from shop.adapters.aws_clients import (
    CONNECT_TIMEOUT_SECONDS,
    SES_READ_TIMEOUT_SECONDS,
    dynamodb_client,
    secrets_client,
    sesv2_client,
    sns_client,
    sqs_client,
)
from shop.adapters.dynamo import DynamoUserRepository
from shop.adapters.email_ledger import DynamoEmailLedger
from shop.adapters.order_events import SnsOrderEventPublisher
from shop.adapters.order_ledger import DynamoOrderLedger
from shop.adapters.refund_ledger import DynamoRefundLedger
from shop.adapters.secret_values import CachedSecret
from shop.adapters.ses import SesEmailSender
from shop.adapters.sqs import SqsJobQueue, SqsQueueMonitor, SqsRedelivery
from shop.adapters.stripe_payments import SecretsManagerApiKey, StripePaymentGateway
from shop.domain.clock import SystemClock
from shop.domain.jobs import ChargeOrder, PaymentJob, RefundOrder, SendEmail
from shop.domain.models import Order, Refund
from shop.domain.retries import retry_delay_seconds
from shop.entrypoints.settings import ConfigurationError, PipelineSettings
from shop.service_layer.cancellation import CancellationService
from shop.service_layer.maintenance import MaintenanceService
from shop.service_layer.notifications import NotificationBatch, NotificationService, PendingStatusEvent
from shop.service_layer.payments import PaymentService
from shop.service_layer.queue_worker import QueueWorker
from shop.service_layer.refunds import RefundExecutor

# What a job needs beyond its one slow call: a few DynamoDB and SQS round trips.
_JOB_OVERHEAD_SECONDS = 2.0
_CLOCK = SystemClock()


def _budget_ms(settings: PipelineSettings, slow_call_seconds: float) -> int:
    """Time a job must have left to start: its slow call's connect and read timeouts, and the rest."""
    budget_ms = int((CONNECT_TIMEOUT_SECONDS + slow_call_seconds + _JOB_OVERHEAD_SECONDS) * 1000)
    if budget_ms >= settings.worker_timeout_seconds * 1000:
        # No invocation would ever have the time to start a job: every one would only be retried.
        raise ConfigurationError(
            f"invalid function configuration: a job needs {budget_ms / 1000:g} s, more than "
            f"WORKER_TIMEOUT_SECONDS ({settings.worker_timeout_seconds} s) allows"
        )
    return budget_ms


def _retry_delay(settings: PipelineSettings) -> partial[int]:
    return partial(
        retry_delay_seconds, base_seconds=settings.retry_base_seconds, max_seconds=settings.retry_max_seconds
    )


class PaymentJobs:
    """The payment worker's two jobs over one gateway: charging orders and carrying out refunds."""

    def __init__(self, charges: PaymentService, refunds: RefundExecutor) -> None:
        self._charges = charges
        self._refunds = refunds

    def perform(self, job: PaymentJob) -> Order | Refund:
        if isinstance(job, ChargeOrder):
            return self._charges.charge_order(job)
        return self._refunds.carry_out(job)


def _gateway(settings: PipelineSettings) -> StripePaymentGateway:
    api_key = SecretsManagerApiKey(
        CachedSecret(
            secrets_client(),
            settings.payment_api_key_secret_id,
            cache_seconds=settings.payment_api_key_cache_seconds,
            clock=_CLOCK,
            purpose="payment API key",
        )
    )
    return StripePaymentGateway(
        api_key,
        base_url=settings.payment_api_base_url,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.payment_api_timeout_seconds,
    )


def payment_jobs(settings: PipelineSettings) -> PaymentJobs:
    gateway = _gateway(settings)
    notifications = SqsJobQueue(sqs_client(), settings.notifications_queue_url)
    dynamodb = dynamodb_client()
    return PaymentJobs(
        PaymentService(DynamoOrderLedger(dynamodb, settings.table_name), gateway, notifications, _CLOCK),
        RefundExecutor(DynamoRefundLedger(dynamodb, settings.table_name), gateway, notifications, _CLOCK),
    )


def payment_worker(settings: PipelineSettings) -> QueueWorker[PaymentJob, Order | Refund]:
    redelivery = SqsRedelivery(sqs_client(), settings.payments_queue_url, settings.payments_dlq_url)
    return QueueWorker(
        (ChargeOrder, RefundOrder),
        payment_jobs(settings).perform,
        redelivery,
        time_needed_ms=_budget_ms(settings, settings.payment_api_timeout_seconds),
        delay=_retry_delay(settings),
    )


def notification_service(settings: PipelineSettings) -> NotificationService:
    dynamodb = dynamodb_client()
    return NotificationService(
        # Consistent: a user the worker cannot read is gone, not a registration still propagating.
        DynamoUserRepository(dynamodb, settings.table_name, consistent_reads=True),
        DynamoOrderLedger(dynamodb, settings.table_name),
        DynamoEmailLedger(dynamodb, settings.table_name),
        SesEmailSender(sesv2_client(), settings.sender_email),
        SnsOrderEventPublisher(sns_client(), settings.order_events_topic_arn),
        refunds=DynamoRefundLedger(dynamodb, settings.table_name),
        clock=_CLOCK,
        claim_lease=timedelta(seconds=settings.email_claim_lease_seconds),
    )


class NotificationWorker:
    """Starts one `NotificationBatch` per invocation over the same warm services."""

    def __init__(self, settings: PipelineSettings) -> None:
        self._service = notification_service(settings)
        redelivery = SqsRedelivery(sqs_client(), settings.notifications_queue_url, settings.notifications_dlq_url)
        self._worker: QueueWorker[SendEmail, PendingStatusEvent | None] = QueueWorker(
            SendEmail,
            self._service.deliver,
            redelivery,
            time_needed_ms=_budget_ms(settings, SES_READ_TIMEOUT_SECONDS),
            delay=_retry_delay(settings),
        )

    def start_batch(self) -> NotificationBatch:
        return NotificationBatch(self._worker, self._service)


def maintenance_service(settings: PipelineSettings) -> MaintenanceService:
    ledger = DynamoOrderLedger(dynamodb_client(), settings.table_name)
    notifications = SqsJobQueue(sqs_client(), settings.notifications_queue_url)
    return MaintenanceService(
        ledger,
        SqsJobQueue(sqs_client(), settings.payments_queue_url),
        CancellationService(ledger, notifications, _CLOCK),
        SqsQueueMonitor(sqs_client()),
        _CLOCK,
        stuck_after=timedelta(seconds=settings.stuck_order_seconds),
        hold=timedelta(seconds=settings.pending_order_hold_seconds),
        dead_letter_queues={"payments": settings.payments_dlq_url, "notifications": settings.notifications_dlq_url},
        pause_payment_dispatch=settings.pause_payment_dispatch,
    )
