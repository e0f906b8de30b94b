"""Cancelled transactions read by their reasons: a failed condition is an answer, contention is retried, then 503."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.spec import StackSpec
from shop.adapters.dynamo import DynamoOrderRepository, DynamoProductCatalog, DynamoUserRepository
from shop.domain.models import Credential, User
from shop.errors import Conflict, Contention
from tests.support.catalog import SeedProduct, seed_products, stock_of
from tests.unit.fakes_pipeline import make_order


class ConflictingTransactions:
    """A DynamoDB client whose next `conflicts` transactions are cancelled by concurrent writes, as DynamoDB does."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self.conflicts = conflicts
        self.attempts = 0

    def transact_write_items(self, **request: Any) -> Any:
        self.attempts += 1
        if self.conflicts > 0:
            self.conflicts -= 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
            reasons += [{"Code": "None"}] * (len(request["TransactItems"]) - 1)
            response: Any = {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            }
            raise ClientError(response, "TransactWriteItems")
        return self._client.transact_write_items(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def new_user(email: str) -> tuple[User, Credential]:
    user = User(id=f"01USER-{email}", email=email, name="Ada", roles=("customer",), created_at="2026-11-26T12:00:00Z")
    return user, Credential(user_id=user.id, email=email, password_hash="h", roles=("customer",))


@pytest.fixture
def table(stack: StackSpec) -> str:
    return stack.functions["RegisterFunction"].environment["TABLE_NAME"]


def test_a_taken_email_is_a_conflict(dynamodb: Any, table: str) -> None:
    users = DynamoUserRepository(dynamodb, table)
    users.add(*new_user("ada@example.com"))

    with pytest.raises(Conflict):
        users.add(*new_user("ada@example.com"))


def test_a_registration_cancelled_by_contention_is_retried_and_succeeds(dynamodb: Any, table: str) -> None:
    client = ConflictingTransactions(dynamodb, conflicts=1)

    DynamoUserRepository(client, table).add(*new_user("ada@example.com"))  # type: ignore[arg-type]

    assert client.attempts == 2
    assert DynamoUserRepository(dynamodb, table).credential_for("ada@example.com") is not None


def test_contention_that_lasts_is_a_retryable_contention_error_not_a_conflict(dynamodb: Any, table: str) -> None:
    client = ConflictingTransactions(dynamodb, conflicts=10)

    with pytest.raises(Contention) as raised:
        DynamoUserRepository(client, table).add(*new_user("ada@example.com"))  # type: ignore[arg-type]

    assert raised.value.retry_after == 1 and client.attempts == 3
    assert DynamoUserRepository(dynamodb, table).credential_for("ada@example.com") is None


def test_an_order_on_a_contended_sku_is_retried_and_takes_its_units_once(dynamodb: Any, table: str) -> None:
    seed_products(dynamodb, table, (SeedProduct("BOOK-1", "A book", 1250, stock=5), SeedProduct("PEN", "A pen", 300)))
    client = ConflictingTransactions(dynamodb, conflicts=2)
    order = make_order()
    dynamodb.put_item(TableName=table, Item={"pk": {"S": f"USER#{order.user_id}"}, "sk": {"S": "PROFILE"}})

    orders = DynamoOrderRepository(client, table)  # type: ignore[arg-type]
    orders.add(order, None, DynamoProductCatalog(dynamodb, table).snapshots(["BOOK-1", "PEN"]))

    assert client.attempts == 3
    assert stock_of(dynamodb, table, "BOOK-1") == 3
