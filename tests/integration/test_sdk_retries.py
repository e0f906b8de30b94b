"""Writes that the AWS SDK retried after they had applied (their answer lost to a timeout) still succeed."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.spec import StackSpec
from shop.adapters.dynamo import DynamoOrderRepository, DynamoProductCatalog
from shop.domain.models import OrderStatus
from shop.errors import Unavailable
from shop.service_layer.ports import ProductSnapshot
from tests.support.catalog import SeedProduct, seed_products, stock_of
from tests.unit.fakes_pipeline import make_order

PRODUCT = ProductSnapshot("BOOK-1", "A book", 1250, "EUR", active=True, version=1)


class AnswerLostThenRetried:
    """A DynamoDB client whose transaction applies, loses its answer, and is sent again, as the SDK's retry does.

    Real DynamoDB answers such a retry as the first attempt, by its ClientRequestToken; in-process
    moto ignores the token, so the retry is cancelled by the first attempt's own writes.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.attempts = 0

    def transact_write_items(self, **request: Any) -> Any:
        self._client.transact_write_items(**request)
        self.attempts += 2
        return self._client.transact_write_items(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_an_order_write_retried_after_it_applied_is_created_once_without_an_error(
    stack: StackSpec, dynamodb: Any
) -> None:
    # Given an order repository whose transaction answer is lost once and retried
    table = stack.functions["CreateOrderFunction"].environment["TABLE_NAME"]
    seed_products(dynamodb, table, (SeedProduct("BOOK-1", "A book", 1250, stock=5), SeedProduct("PEN", "A pen", 300)))
    client = AnswerLostThenRetried(dynamodb)
    orders = DynamoOrderRepository(client, table)  # type: ignore[arg-type]
    order = make_order(status=OrderStatus.PENDING_PAYMENT)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": f"USER#{order.user_id}"}, "sk": {"S": "PROFILE"}})

    # When the order is added without an Idempotency-Key
    orders.add(order, None, DynamoProductCatalog(dynamodb, table).snapshots(["BOOK-1", "PEN"]))

    # Then the retry's failed condition is recognised as the write itself: the order is stored once
    assert client.attempts == 2
    assert orders.get(order.user_id, order.id) == order
    assert stock_of(dynamodb, table, "BOOK-1") == 3


def test_a_put_whose_condition_fails_for_another_reason_is_still_an_error(stack: StackSpec, dynamodb: Any) -> None:
    # Given a table whose order write is refused by DynamoDB for a reason other than the condition
    orders = DynamoOrderRepository(dynamodb, "no-such-table")

    # When / Then
    with pytest.raises(Unavailable) as raised:
        orders.add(make_order(), None, {"BOOK-1": PRODUCT, "PEN": PRODUCT})
    assert isinstance(raised.value.__cause__, ClientError)
