"""Builds each function's services from settings, once per cold start.

Creating a client makes no network call, so importing a handler never reaches AWS. Endpoints
come from the standard AWS_ENDPOINT_URL variables, so nothing here knows where it runs.
"""

from __future__ import annotations

from shop.adapters.admin_orders import DynamoAdminOrders
from shop.adapters.aws_clients import dynamodb_client, secrets_client, sqs_client
from shop.adapters.dynamo import DynamoOrderRepository, DynamoProductCatalog, DynamoUserRepository
from shop.adapters.login_attempts import DynamoLoginAttempts
from shop.adapters.order_ledger import DynamoOrderLedger
from shop.adapters.passwords import PasswordHasher
from shop.adapters.products import DynamoProductRepository
from shop.adapters.refund_ledger import DynamoRefundLedger
from shop.adapters.secret_values import CachedSecret
from shop.adapters.signing_keys import SecretsManagerSigningKey
from shop.adapters.sqs import SqsJobQueue
from shop.adapters.user_roles import DynamoUserRoles
from shop.domain.clock import SystemClock
from shop.entrypoints.settings import Settings
from shop.service_layer.accounts import AccountService, LoginService, RegistrationService
from shop.service_layer.admin_orders import AdminOrderService
from shop.service_layer.cancellation import CancellationService
from shop.service_layer.catalog import CatalogService
from shop.service_layer.cursors import CursorCodec
from shop.service_layer.orders import OrderService
from shop.service_layer.ports import LoginBackoff, LoginFailureLimit
from shop.service_layer.readiness import ReadinessProbe
from shop.service_layer.refunds import RefundService
from shop.service_layer.roles import RoleService
from shop.service_layer.tokens import TokenService

_CLOCK = SystemClock()


def signing_key(settings: Settings) -> SecretsManagerSigningKey:
    secret = CachedSecret(
        secrets_client(),
        settings.signing_key_secret_id,
        cache_seconds=settings.signing_key_cache_seconds,
        clock=_CLOCK,
        purpose="signing key",
    )
    return SecretsManagerSigningKey(secret)


def token_service(settings: Settings) -> TokenService:
    return TokenService(
        signing_key(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.token_ttl_seconds,
        clock=_CLOCK,
    )


def account_service(settings: Settings) -> AccountService:
    return AccountService(DynamoUserRepository(dynamodb_client(), settings.table_name), PasswordHasher(), _CLOCK)


def registration_service(settings: Settings) -> RegistrationService:
    return RegistrationService(account_service(settings), SqsJobQueue(sqs_client(), settings.notifications_queue_url))


def login_service(settings: Settings) -> LoginService:
    dynamodb = dynamodb_client()
    return LoginService(
        DynamoUserRepository(dynamodb, settings.table_name),
        PasswordHasher(),
        token_service(settings),
        DynamoLoginAttempts(dynamodb, settings.table_name),
        limit=LoginFailureLimit(settings.login_failure_limit, settings.login_failure_window_seconds),
        backoff=LoginBackoff(
            settings.login_backoff_free_failures,
            settings.login_backoff_window_seconds,
            settings.login_backoff_max_seconds,
        ),
        clock=_CLOCK,
    )


def order_service(settings: Settings) -> OrderService:
    dynamodb = dynamodb_client()
    return OrderService(
        DynamoOrderRepository(dynamodb, settings.table_name),
        DynamoProductCatalog(dynamodb, settings.table_name),
        SqsJobQueue(sqs_client(), settings.payments_queue_url),
        CursorCodec(signing_key(settings)),
        _CLOCK,
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        pause_payment_dispatch=settings.pause_payment_dispatch,
    )


def cancellation_service(settings: Settings) -> CancellationService:
    return CancellationService(
        DynamoOrderLedger(dynamodb_client(), settings.table_name),
        SqsJobQueue(sqs_client(), settings.notifications_queue_url),
        _CLOCK,
    )


def readiness_probe(settings: Settings) -> ReadinessProbe:
    queues = {"payments": settings.payments_queue_url, "notifications": settings.notifications_queue_url}
    return ReadinessProbe(dynamodb_client(), settings.table_name, sqs_client(), queues)


def catalog_service(settings: Settings) -> CatalogService:
    return CatalogService(
        DynamoProductRepository(dynamodb_client(), settings.table_name), CursorCodec(signing_key(settings)), _CLOCK
    )


def admin_order_service(settings: Settings) -> AdminOrderService:
    sqs = sqs_client()
    return AdminOrderService(
        DynamoAdminOrders(dynamodb_client(), settings.table_name),
        SqsJobQueue(sqs, settings.payments_queue_url),
        SqsJobQueue(sqs, settings.notifications_queue_url),
        CursorCodec(signing_key(settings)),
        _CLOCK,
    )


def role_service(table_name: str) -> RoleService:
    return RoleService(DynamoUserRoles(dynamodb_client(), table_name))


def refund_service(settings: Settings) -> RefundService:
    return RefundService(
        DynamoRefundLedger(dynamodb_client(), settings.table_name),
        SqsJobQueue(sqs_client(), settings.payments_queue_url),
        _CLOCK,
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
    )
