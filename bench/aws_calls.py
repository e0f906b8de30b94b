"""AWS API calls per operation, counted on every botocore client, beside the minimum the access patterns allow.

The handlers run in this process against moto (`mock_aws`), with every resource created from
template.yaml and the fake payment provider for the charge. Every botocore client created while the
count runs, the handlers' own included, gets a `before-call` hook: one count per API call, however
many HTTP attempts the SDK's retries make. Each operation is counted on a freshly imported handler
(cold: what the first invocation adds) and again warm. Run: `.venv/bin/python -m bench.aws_calls`.
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import botocore.session
from moto import mock_aws

from bench.common import (
    ORDER,
    PASSWORD,
    ROOT,
    Handler,
    import_handler,
    quiet_output,
    record,
    take_batch,
    use_function_environment,
)
from localcloud.payments import PaymentProvider
from localcloud.provision import provision
from localcloud.spec import FunctionSpec, StackSpec
from shop.adapters.order_ledger import DynamoOrderLedger
from shop.domain.clock import isoformat
from tests.support.catalog import E2E_PRODUCTS, SeedProduct, seed_products
from tests.support.events import FakeLambdaContext, api_event, load_event

REGION = "us-east-1"
# One unit in stock, ordered ten at a time: the out-of-stock path.
SCARCE = SeedProduct("SCARCE-1", "Last one", 900, stock=1)
TOO_MANY = {**ORDER, "items": [{"sku": SCARCE.sku, "quantity": 10}]}
SIGNING_KEY = (
    "the token and cursor signing key, read on first use and then kept by the warm function for "
    "SIGNING_KEY_CACHE_SECONDS (900 s)"
)

PAYMENT_API_KEY = "the payment API key, read on the first charge and kept for PAYMENT_API_KEY_CACHE_SECONDS (300 s)"


@dataclass(frozen=True)
class Operation:
    """What one operation must call, and why the code calls anything beyond that."""

    name: str
    minimum: tuple[str, ...]
    why_minimum: str
    reasons: Mapping[str, str] = field(default_factory=dict)


OPERATIONS = {
    operation.name: operation
    for operation in (
        Operation(
            "register",
            ("dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the user and its email lock in one conditional transaction; the welcome email job",
        ),
        Operation(
            "login",
            ("dynamodb:UpdateItem", "dynamodb:GetItem"),
            "the attempt admitted under the email's failure limit (one conditional ADD); the credential by email",
            {
                "secretsmanager:GetSecretValue": SIGNING_KEY,
                "dynamodb:UpdateItem": (
                    "LoginService._forgive takes the admitted attempt back after a right password: it is counted "
                    "before the check, so that concurrent guesses cannot pass the limit, and the counter keeps only "
                    "failures (a hash made with older argon2 parameters would add one more, needs_rehash)"
                ),
            },
        ),
        Operation(
            "authorize",
            (),
            "the token is verified with the signing key the warm function holds",
            {"secretsmanager:GetSecretValue": SIGNING_KEY},
        ),
        Operation(
            "create order (Idempotency-Key)",
            ("dynamodb:BatchGetItem", "dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the lines' products (names, prices, versions: one consistent BatchGetItem); the order, its "
            "idempotency record, each line's conditional stock decrement and product check in one transaction; "
            "the payment job",
        ),
        Operation(
            "create order (no key)",
            ("dynamodb:BatchGetItem", "dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the lines' products; the order with its stock decrements and product checks in one transaction; "
            "the payment job",
        ),
        Operation(
            "create order (replay of an Idempotency-Key)",
            ("dynamodb:BatchGetItem", "dynamodb:TransactWriteItems", "dynamodb:GetItem"),
            "the products and the transaction as for a first request (nothing is read before the write, so a "
            "first request pays nothing for its key); the cancelled transaction returns the stored record (ALL_OLD), "
            "then one consistent GetItem of the order it names",
        ),
        Operation(
            "create order (out of stock)",
            ("dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"),
            "the products; the transaction, cancelled, whose reasons (ALL_OLD stock) say which lines are short",
        ),
        Operation(
            "cancel order",
            ("dynamodb:GetItem", "dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the order (its lines say which stock items get their units back); its conditional transition and "
            "the stock releases in one transaction; the cancellation email job",
        ),
        Operation(
            "abandon an order (maintenance sweep, one order past the hold)",
            (
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:TransactWriteItems",
                "sqs:SendMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueAttributes",
            ),
            "the stuck orders from the sparse PendingPayments index, the order (consistent: is it still pending "
            "and unclaimed?), its cancellation with the units back in one transaction, the cancellation email job; "
            "the two dead-letter queues' depths",
        ),
        Operation("get order", ("dynamodb:GetItem",), "the order under its owner's partition"),
        Operation(
            "list orders (a full page and a next cursor)",
            ("dynamodb:Query",),
            "one page of the owner's partition, newest first",
            {"secretsmanager:GetSecretValue": SIGNING_KEY + "; the next cursor is signed with it"},
        ),
        Operation(
            "create product", ("dynamodb:TransactWriteItems",), "the product and its stock item, both conditional"
        ),
        Operation("get product", ("dynamodb:Query",), "the product and its stock: one Query of the sku's partition"),
        Operation(
            "list products (a full page and a next cursor)",
            ("dynamodb:Query", "dynamodb:BatchGetItem"),
            "one page of the sparse CatalogBySku index; the page's stock items in one batch",
            {"secretsmanager:GetSecretValue": SIGNING_KEY + "; the next cursor is signed with it"},
        ),
        Operation(
            "update product (If-Match and a stock delta)",
            ("dynamodb:TransactWriteItems", "dynamodb:Query"),
            "the versioned product update and the floored stock update in one transaction; the product read back "
            "(a transaction returns no attributes)",
        ),
        Operation(
            "admin list orders (a full page and a next cursor)",
            ("dynamodb:Query",),
            "one page of the OrdersByStatus index",
            {"secretsmanager:GetSecretValue": SIGNING_KEY + "; the next cursor is signed with it"},
        ),
        Operation("admin get order", ("dynamodb:Query",), "the order by its id alone, from the OrderById index"),
        Operation(
            "resolve order (retry)",
            ("dynamodb:Query", "dynamodb:UpdateItem", "sqs:SendMessage"),
            "the order by id (OrderById), the conditional decision on it, the charge job",
        ),
        Operation(
            "set user roles",
            ("dynamodb:GetItem", "dynamodb:TransactWriteItems"),
            "the profile (for the email that keys the credential), then both copies of the roles in one transaction",
        ),
        Operation(
            "charge (payment worker, one message)",
            ("dynamodb:UpdateItem", "dynamodb:UpdateItem", "sqs:SendMessage"),
            "the charge claim on the pending order (ReturnValues ALL_NEW reads it; ALL_OLD on a failed condition), "
            "the settlement, the receipt job",
            {
                "secretsmanager:GetSecretValue": PAYMENT_API_KEY,
            },
        ),
        Operation(
            "charge declined (payment worker, one message)",
            ("dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the charge claim; payment_failed and the units back in stock in one transaction; the failure email job",
            {"secretsmanager:GetSecretValue": PAYMENT_API_KEY},
        ),
        Operation(
            "send email (notification worker, one receipt)",
            ("dynamodb:Query", "dynamodb:PutItem", "sesv2:SendEmail", "dynamodb:UpdateItem", "sns:Publish"),
            "the user and the order (one consistent Query of partition USER#<id>, from the order to the profile), "
            "the email marker's claim, the send, the marker settled, the order status event",
            {
                "dynamodb:UpdateItem": (
                    "mark_event_published: after the batch's SNS publish each marker records that its event went "
                    "out, so a redelivery does not publish it again; a second write of the marker settled just before"
                ),
            },
        ),
        Operation(
            "send email (notification worker, one welcome)",
            ("dynamodb:GetItem", "dynamodb:PutItem", "sesv2:SendEmail", "dynamodb:UpdateItem"),
            "the user, the email marker's claim, the send, the marker settled",
        ),
        Operation(
            "request a refund (support)",
            ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the order's owner from the OrderById index, the order read consistently (status, total, "
            "payment), the reservation on the order with the refund and its key in one conditional transaction, "
            "the refund job",
        ),
        Operation(
            "refund (payment worker, one message)",
            ("dynamodb:BatchGetItem", "dynamodb:TransactWriteItems", "sqs:SendMessage"),
            "the refund and its order (one partition, so one consistent BatchGetItem), the refund and the order "
            "settled in one conditional transaction, the refund email job",
            {
                "secretsmanager:GetSecretValue": (
                    "the payment API key, read on the first call and kept for PAYMENT_API_KEY_CACHE_SECONDS (300 s)"
                ),
            },
        ),
    )
}


class CallLog:
    """Names each AWS API call (`service:Operation`) that any botocore client created while installed makes."""

    def __init__(self) -> None:
        self._calls: list[str] | None = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        create_client = botocore.session.Session.create_client

        def create_hooked_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = create_client(session, *args, **kwargs)
            client.meta.events.register("before-call", self._count)
            return client

        with mock.patch.object(botocore.session.Session, "create_client", create_hooked_client):
            yield

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        calls: list[str] = []
        self._calls = calls
        try:
            yield calls
        finally:
            self._calls = None

    def _count(self, model: Any, **_: Any) -> None:
        # A handler of `before-call` that returned something would replace the call: return None.
        if self._calls is not None:
            self._calls.append(f"{model.service_model.service_name}:{model.name}")


@dataclass
class Counted:
    """The calls of an operation's first invocation on a fresh import, of a warm one, and of the import."""

    at_import: list[str]
    cold: list[str]
    warm: list[str]


class Shop:
    """The stack's handlers in this process, and the queues between them, driven as Lambda would."""

    def __init__(self, stack: StackSpec, log: CallLog) -> None:
        self._stack = stack
        self._log = log
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._handlers: dict[str, Handler] = {}

    @property
    def table_name(self) -> str:
        return self.function("CreateOrderFunction").environment["TABLE_NAME"]

    def function(self, logical_id: str) -> FunctionSpec:
        return self._stack.functions[logical_id]

    def count(self, logical_id: str, cold_event: Callable[[], Any], warm_event: Callable[[], Any]) -> Counted:
        """Import the handler afresh, then count the calls of one invocation cold and one warm."""
        with self._log.recording() as at_import:
            self._handlers[logical_id] = import_handler(self.function(logical_id), fresh=True)
        cold = self.calls_of(logical_id, cold_event())
        warm = self.calls_of(logical_id, warm_event())
        return Counted(at_import, cold, warm)

    def calls_of(self, logical_id: str, event: Any) -> list[str]:
        with self._log.recording() as calls:
            self.invoke(logical_id, event)
        return calls

    def invoke(self, logical_id: str, event: Any) -> Any:
        if logical_id not in self._handlers:
            self._handlers[logical_id] = import_handler(self.function(logical_id))
        with quiet_output():
            return self._handlers[logical_id](event, FakeLambdaContext(function_name=logical_id))

    def api(self, logical_id: str, event: dict[str, Any], status: int) -> Any:
        response = self.invoke(logical_id, event)
        assert response["statusCode"] == status, response
        return json.loads(response["body"])

    def register(self) -> tuple[str, str]:
        """A new customer's email and user id."""
        email = f"calls-{uuid.uuid4().hex[:10]}@example.com"
        user = self.api("RegisterFunction", register_event(email), 201)
        return email, str(user["id"])

    def place_order(self, user_id: str) -> str:
        return str(self.api("CreateOrderFunction", create_order_event(user_id, idempotency_key=True), 201)["id"])

    def age(self, user_id: str, order_id: str, hours: int) -> None:
        """Make a pending order look placed and last dispatched `hours` ago."""
        then = isoformat(datetime.now(UTC) - timedelta(hours=hours))
        boto3.client("dynamodb", region_name=REGION).update_item(
            TableName=self.function("CreateOrderFunction").environment["TABLE_NAME"],
            Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ORDER#{order_id}"}},
            UpdateExpression="SET created_at = :then, gsi2sk = :then",
            ExpressionAttributeValues={":then": {"S": then}},
        )

    def take_batch(self, worker: str) -> dict[str, Any]:
        return take_batch(self._sqs, self.function(worker))


def register_event(email: str) -> dict[str, Any]:
    return api_event("register", body={"email": email, "password": PASSWORD, "name": "Bench"})


def login_event(email: str) -> dict[str, Any]:
    return api_event("login", body={"email": email, "password": PASSWORD})


def create_order_event(user_id: str, *, idempotency_key: bool, body: dict[str, Any] = ORDER) -> dict[str, Any]:
    event = api_event("create_order", user_id=user_id, body=body, request_id=str(uuid.uuid4()))
    # The sample event carries a fixed key: a fresh one, or none at all.
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Idempotency-Key", None)
    if idempotency_key:
        key = str(uuid.uuid4())
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return event


def declined_order_event(user_id: str) -> dict[str, Any]:
    return create_order_event(
        user_id, idempotency_key=False, body={**ORDER, "payment_method": "pm_card_chargeDeclined"}
    )


def authorizer_event(token: str) -> dict[str, Any]:
    return {**load_event("authorizer"), "authorizationToken": f"Bearer {token}"}


def count_everything(shop: Shop, provider: PaymentProvider) -> dict[str, Counted]:
    counted: dict[str, Counted] = {}
    email, user_id = shop.register()
    counted["register"] = shop.count(
        "RegisterFunction", lambda: register_event(f"a-{email}"), lambda: register_event(f"b-{email}")
    )
    counted["login"] = shop.count("LoginFunction", lambda: login_event(email), lambda: login_event(email))
    token = shop.api("LoginFunction", login_event(email), 200)["access_token"]
    counted["authorize"] = shop.count(
        "AuthorizerFunction", lambda: authorizer_event(token), lambda: authorizer_event(token)
    )
    counted["create order (Idempotency-Key)"] = shop.count(
        "CreateOrderFunction",
        lambda: create_order_event(user_id, idempotency_key=True),
        lambda: create_order_event(user_id, idempotency_key=True),
    )
    counted["create order (no key)"] = shop.count(
        "CreateOrderFunction",
        lambda: create_order_event(user_id, idempotency_key=False),
        lambda: create_order_event(user_id, idempotency_key=False),
    )
    replayed = create_order_event(user_id, idempotency_key=True)
    shop.api("CreateOrderFunction", replayed, 201)
    counted["create order (replay of an Idempotency-Key)"] = shop.count(
        "CreateOrderFunction", lambda: replayed, lambda: replayed
    )
    counted["create order (out of stock)"] = shop.count(
        "CreateOrderFunction",
        lambda: create_order_event(user_id, idempotency_key=False, body=TOO_MANY),
        lambda: create_order_event(user_id, idempotency_key=False, body=TOO_MANY),
    )

    def cancel_event() -> dict[str, Any]:
        order_id = shop.place_order(user_id)
        return api_event("cancel_order", user_id=user_id, path_parameters={"order_id": order_id})

    counted["cancel order"] = shop.count("CancelOrderFunction", cancel_event, cancel_event)

    def sweep_with_an_abandoned_order() -> dict[str, Any]:
        shop.age(user_id, shop.place_order(user_id), hours=2)
        return load_event("maintenance")

    counted["abandon an order (maintenance sweep, one order past the hold)"] = shop.count(
        "MaintenanceFunction", sweep_with_an_abandoned_order, sweep_with_an_abandoned_order
    )
    order_id = shop.place_order(user_id)
    get_event = api_event("get_order", user_id=user_id, path_parameters={"order_id": order_id})
    counted["get order"] = shop.count("GetOrderFunction", lambda: get_event, lambda: get_event)
    # The default page is 20 orders: with more stored, the page comes with a signed next cursor.
    while len(shop.api("ListOrdersFunction", list_event(user_id), 200)["items"]) < 20:
        shop.place_order(user_id)
    counted["list orders (a full page and a next cursor)"] = shop.count(
        "ListOrdersFunction", lambda: list_event(user_id), lambda: list_event(user_id)
    )
    counted.update(count_catalog(shop))
    counted.update(count_operators(shop, user_id))
    counted.update(count_workers(shop, provider))
    counted.update(count_refunds(shop, provider))
    return counted


def admin_event(name: str, **kwargs: Any) -> dict[str, Any]:
    return api_event(name, user_id="bench-admin", roles="admin", **kwargs)


def product_body() -> dict[str, Any]:
    return {"sku": f"SKU-{uuid.uuid4().hex[:10]}", "name": "Bench product", "price": 100, "currency": "EUR", "stock": 9}


def count_catalog(shop: Shop) -> dict[str, Counted]:
    def new_product() -> str:
        return str(shop.api("CreateProductFunction", admin_event("create_product", body=product_body()), 201)["sku"])

    def patch_event() -> dict[str, Any]:
        sku = new_product()
        return admin_event("update_product", body={"stock_delta": -1}, path_parameters={"sku": sku})

    sku = new_product()
    get_event = api_event("get_product", path_parameters={"sku": sku})
    while len(shop.api("ListProductsFunction", api_event("list_products", query={}), 200)["items"]) < 20:
        new_product()
    return {
        "create product": shop.count(
            "CreateProductFunction",
            lambda: admin_event("create_product", body=product_body()),
            lambda: admin_event("create_product", body=product_body()),
        ),
        "get product": shop.count("GetProductFunction", lambda: get_event, lambda: get_event),
        "list products (a full page and a next cursor)": shop.count(
            "ListProductsFunction",
            lambda: api_event("list_products", query={}),
            lambda: api_event("list_products", query={}),
        ),
        "update product (If-Match and a stock delta)": shop.count("UpdateProductFunction", patch_event, patch_event),
    }


def count_operators(shop: Shop, user_id: str) -> dict[str, Counted]:
    """Run after count_everything placed over 20 pending orders: the admin listing fills a page."""
    ledger = DynamoOrderLedger(boto3.client("dynamodb", region_name=REGION), shop.table_name)

    def held_order_event() -> dict[str, Any]:
        order = ledger.get(user_id, shop.place_order(user_id))
        assert order is not None
        ledger.hold_for_review(order, "bench")
        return admin_event("resolve_order", body={"action": "retry"}, path_parameters={"order_id": order.id})

    order_id = shop.place_order(user_id)
    list_event = admin_event("admin_list_orders", query={"status": "pending_payment"})
    get_event = admin_event("admin_get_order", path_parameters={"order_id": order_id})
    roles_event = admin_event("set_user_roles", body={"roles": ["customer"]}, path_parameters={"user_id": user_id})
    return {
        "admin list orders (a full page and a next cursor)": shop.count(
            "AdminListOrdersFunction", lambda: list_event, lambda: list_event
        ),
        "admin get order": shop.count("AdminGetOrderFunction", lambda: get_event, lambda: get_event),
        "resolve order (retry)": shop.count("ResolveOrderFunction", held_order_event, held_order_event),
        "set user roles": shop.count("SetUserRolesFunction", lambda: roles_event, lambda: roles_event),
    }


def list_event(user_id: str) -> dict[str, Any]:
    return api_event("list_orders", user_id=user_id, query={})


def count_workers(shop: Shop, provider: PaymentProvider) -> dict[str, Counted]:
    """The charge and the emails, each on a queue holding just the message it is about."""
    _, user_id = shop.register()
    for worker in ("PaymentWorkerFunction", "NotificationWorkerFunction"):
        shop.take_batch(worker)
    charged_before = len(provider.intents())

    def charge_job() -> dict[str, Any]:
        shop.place_order(user_id)
        return shop.take_batch("PaymentWorkerFunction")

    charge = shop.count("PaymentWorkerFunction", charge_job, charge_job)
    assert len(provider.intents()) == charged_before + 2, "each charge reaches the provider once"

    receipts = shop.take_batch("NotificationWorkerFunction")
    first_receipt, second_receipt = ({**receipts, "Records": [record_]} for record_ in receipts["Records"])
    receipt = shop.count("NotificationWorkerFunction", lambda: first_receipt, lambda: second_receipt)

    def declined_job() -> dict[str, Any]:
        shop.api("CreateOrderFunction", declined_order_event(user_id), 201)
        return shop.take_batch("PaymentWorkerFunction")

    declined = shop.count("PaymentWorkerFunction", declined_job, declined_job)
    shop.take_batch("NotificationWorkerFunction")
    shop.register()
    welcome = shop.calls_of("NotificationWorkerFunction", shop.take_batch("NotificationWorkerFunction"))
    return {
        "charge (payment worker, one message)": charge,
        "charge declined (payment worker, one message)": declined,
        "send email (notification worker, one receipt)": receipt,
        "send email (notification worker, one welcome)": Counted([], [], welcome),
    }


def refund_event(order_id: str) -> dict[str, Any]:
    """The sample's support caller refunding 100 of the order, with a fresh Idempotency-Key."""
    event = api_event(
        "refund_order",
        path_parameters={"order_id": order_id},
        body={"amount": 100, "reason": "bench"},
        request_id=str(uuid.uuid4()),
    )
    key = str(uuid.uuid4())
    event["headers"]["Idempotency-Key"] = key
    event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return event


def count_refunds(shop: Shop, provider: PaymentProvider) -> dict[str, Counted]:
    """Two refunds of one paid order: their requests, then their execution, one message at a time."""
    _, user_id = shop.register()
    shop.take_batch("PaymentWorkerFunction")
    order_id = shop.place_order(user_id)
    shop.invoke("PaymentWorkerFunction", shop.take_batch("PaymentWorkerFunction"))
    request = shop.count("RefundOrderFunction", lambda: refund_event(order_id), lambda: refund_event(order_id))
    jobs = shop.take_batch("PaymentWorkerFunction")
    first, second = ({**jobs, "Records": [record_]} for record_ in jobs["Records"])
    execution = shop.count("PaymentWorkerFunction", lambda: first, lambda: second)
    assert len(provider.refunds()) == 2, "each refund reaches the provider once"
    return {"request a refund (support)": request, "refund (payment worker, one message)": execution}


def call_count(count: int) -> str:
    return f"{count} call" if count == 1 else f"{count} calls"


def named(calls: list[str]) -> str:
    counts = Counter(calls)
    return ", ".join(f"{call} x{count}" if count > 1 else call for call, count in counts.items()) or "none"


def report(operation: Operation, counted: Counted) -> list[str]:
    warm = Counter(counted.warm)
    minimum = Counter(operation.minimum)
    lines = [
        f"{operation.name}: {call_count(len(counted.warm))} warm ({named(counted.warm)}); "
        f"minimum {len(operation.minimum)} ({named(list(operation.minimum))}: {operation.why_minimum})"
    ]
    for call, count in (warm - minimum).items():
        reason = operation.reasons.get(call, "no reason found in the code: look at this path")
        lines.append(f"{operation.name}, above the minimum: {call} x{count}: {reason}")
    for call, count in (minimum - warm).items():
        lines.append(f"{operation.name}: the minimum has {call} x{count} where the code makes the calls above")
    cold_extra = Counter(counted.cold) - warm
    for call, count in cold_extra.items():
        reason = operation.reasons.get(call, "no reason found in the code: look at this path")
        lines.append(f"{operation.name}, first invocation after a cold start also: {call} x{count}: {reason}")
    if counted.at_import:
        lines.append(f"{operation.name}: the import itself called AWS: {named(counted.at_import)}")
    return lines


def main() -> None:
    warnings.filterwarnings("ignore", "No application metrics to publish")
    log = CallLog()
    with log.installed(), mock_aws(), PaymentProvider(port=0) as provider:
        stack = provision(
            ROOT / "template.yaml",
            endpoint_url=None,
            region=REGION,
            stack_name="shop-calls",
            parameter_overrides={"PaymentApiBaseUrl": provider.url},
        )
        # The Globals give every function the same environment.
        use_function_environment(stack.functions["CreateOrderFunction"], None)
        table = stack.functions["CreateOrderFunction"].environment["TABLE_NAME"]
        seed_products(boto3.client("dynamodb", region_name=REGION), table, (*E2E_PRODUCTS, SCARCE))
        counted = count_everything(Shop(stack, log), provider)
    lines = [
        "handlers in this process against moto (mock_aws), resources from template.yaml; every botocore client "
        "hooked on before-call (one count per API call, SDK retries not counted); SQS receive and delete are the "
        "event source mapping's, not the function's; the charge also makes 1 request to the payment provider",
    ]
    for name, operation in OPERATIONS.items():
        lines += report(operation, counted[name])
    record("AWS API calls per operation", lines)


if __name__ == "__main__":
    main()
