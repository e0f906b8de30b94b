"""The sample events in events/ (shared with `localcloud invoke` and `sam local invoke`) drive their workers."""

from __future__ import annotations

from typing import Any

import pytest

from shop.adapters.dynamo import DynamoOrderRepository, DynamoProductCatalog, DynamoUserRepository
from shop.domain.models import Credential, Order, OrderStatus, User
from tests.integration.worker_support import Shop
from tests.support.events import load_event

pytest_plugins = ["tests.integration.worker_fixtures"]

# The ids and the correlation id the sample events carry.
SAMPLE_USER = "01JDW3Q5Z8M1K7V2N4X6Y9B0CA"
SAMPLE_ORDER = "01JDW3R8K2P4V6X8Z0B2D4F6H8"
SAMPLE_EMAIL = "ada@example.com"


@pytest.fixture
def sample_customer(shop: Shop, dynamodb: Any) -> None:
    """The customer and pending order the sample events are about, stored as the API stores them."""
    stamp = "2026-11-26T22:00:00.000Z"
    user = User(id=SAMPLE_USER, email=SAMPLE_EMAIL, name="Ada Lovelace", roles=("customer",), created_at=stamp)
    credential = Credential(user_id=SAMPLE_USER, email=SAMPLE_EMAIL, password_hash="unused", roles=("customer",))
    DynamoUserRepository(dynamodb, shop.env["TABLE_NAME"]).add(user, credential)
    order = Order.model_validate(
        {
            "id": SAMPLE_ORDER,
            "user_id": SAMPLE_USER,
            "status": OrderStatus.PENDING_PAYMENT,
            "items": [{"sku": "BOOK-001", "name": "Dune (paperback)", "quantity": 2, "unit_price": 1250}],
            "currency": "EUR",
            "total": 2500,
            "payment_method": "pm_card_visa",
            "created_at": stamp,
            "updated_at": stamp,
            "correlation_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        }
    )
    table = shop.env["TABLE_NAME"]
    DynamoOrderRepository(dynamodb, table).add(
        order, None, DynamoProductCatalog(dynamodb, table).snapshots(["BOOK-001"])
    )


def test_the_sample_events_charge_the_order_send_its_emails_and_sweep(shop: Shop, sample_customer: None) -> None:
    assert shop.invoke("payment_worker", load_event("payment_worker")) == {"batchItemFailures": []}
    assert shop.order_status(SAMPLE_USER, SAMPLE_ORDER) == "paid"

    assert shop.invoke("notification_worker", load_event("notification_worker")) == {"batchItemFailures": []}
    assert shop.mail_to(SAMPLE_EMAIL) == ["Welcome to the shop", f"Receipt for order {SAMPLE_ORDER}"]

    report = shop.invoke("maintenance", load_event("maintenance"))
    assert report == {
        "requeued_order_ids": [],
        "abandoned_order_ids": [],
        "dispatch_paused": False,
        "dead_letter_depths": {"payments": 0, "notifications": 0},
    }
