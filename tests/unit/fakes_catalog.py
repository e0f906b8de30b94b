"""In-memory fake of the catalog's port, with the DynamoDB adapter's contract."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from shop.domain.clock import isoformat
from shop.domain.models import AdminOrderView, Credential, OrderStatus, Product, ProductView, User, search_key
from shop.errors import Conflict, NotFound, PreconditionFailed
from shop.service_layer.ports import (
    AdminOrderSlice,
    CatalogIndex,
    DynamoKey,
    ProductChanges,
    ProductSlice,
    ReviewDecision,
)
from tests.unit.fakes import InMemoryUsers


class InMemoryProducts:
    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.stock: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, product: Product, stock: int) -> None:
        with self._lock:
            if product.sku in self.products:
                raise Conflict(f"a product with sku {product.sku} already exists")
            self.products[product.sku] = product
            self.stock[product.sku] = stock

    def get(self, sku: str, *, consistent: bool = False) -> ProductView | None:
        product = self.products.get(sku)
        return None if product is None else ProductView(**product.model_dump(), stock=self.stock[sku])

    def update(self, sku: str, expected_version: int, changes: ProductChanges, at: datetime) -> ProductView:
        with self._lock:
            product = self.products.get(sku)
            if product is None:
                raise NotFound(f"product {sku} was not found")
            if product.version != expected_version:
                raise PreconditionFailed(f"product {sku} is at version {product.version}")
            stock = self.stock[sku] + (changes.stock_delta or 0)
            if stock < 0:
                raise Conflict(f"product {sku} has {self.stock[sku]} units")
            self.products[sku] = product.model_copy(
                update={**changes.fields, "version": product.version + 1, "updated_at": isoformat(at)}
            )
            self.stock[sku] = stock
        view = self.get(sku)
        assert view is not None
        return view

    def page(self, index: CatalogIndex, prefix: str | None, limit: int, after: DynamoKey | None) -> ProductSlice:
        def key(product: Product) -> tuple[str, str]:
            return (search_key(product.sku if index == "sku" else product.name), product.sku)

        listed = sorted((p for p in self.products.values() if p.active), key=key)
        if prefix is not None:
            listed = [product for product in listed if key(product)[0].startswith(prefix)]
        if after is not None:
            last = self.products[after["pk"]["S"].removeprefix("PRODUCT#")]
            listed = [product for product in listed if key(product) > key(last)]
        page = listed[:limit]
        last_key = {"pk": {"S": f"PRODUCT#{page[-1].sku}"}} if len(page) == limit else None
        return ProductSlice(products=page, last_key=last_key)

    def stock_of(self, skus: Sequence[str]) -> dict[str, int]:
        return {sku: self.stock[sku] for sku in skus}


class InMemoryAdminOrders:
    """Every customer's orders with their operator fields, and review decisions as the adapter takes them."""

    def __init__(self) -> None:
        self.orders: dict[str, AdminOrderView] = {}

    def by_status(self, status: OrderStatus, *, limit: int, after: DynamoKey | None) -> AdminOrderSlice:
        listed = sorted((o for o in self.orders.values() if o.status is status), key=lambda o: o.id, reverse=True)
        if after is not None:
            listed = [order for order in listed if order.id < after["sk"]["S"]]
        page = listed[:limit]
        last_key = {"sk": {"S": page[-1].id}} if len(page) == limit else None
        return AdminOrderSlice(orders=page, last_key=last_key)

    def find(self, order_id: str) -> AdminOrderView | None:
        return self.orders.get(order_id)

    def resolve(self, order: AdminOrderView, decision: ReviewDecision, by: str, at: datetime) -> AdminOrderView | None:
        stored = self.orders[order.id]
        if not stored.held_for_review:
            return None
        changes: dict[str, object] = {"review_decision": decision, "reviewed_by": by, "updated_at": isoformat(at)}
        if decision == "fail":
            changes["status"] = OrderStatus.PAYMENT_FAILED
        else:
            changes["charge_attempted_at"] = None
        self.orders[order.id] = stored.model_copy(update=changes)
        return self.orders[order.id]


class InMemoryUserRoles:
    def __init__(self, users: InMemoryUsers) -> None:
        self._users = users

    def set_roles(
        self, user_id: str, roles: tuple[str, ...], *, expected: tuple[str, ...] | None = None
    ) -> User | None:
        user = self._users.users.get(user_id)
        if user is None:
            return None
        credential = self._users.credentials[user.email]
        if expected is not None and credential.roles != expected:
            raise Conflict("the account's roles changed meanwhile")
        self._users.credentials[user.email] = credential.model_copy(update={"roles": roles})
        self._users.users[user_id] = user.model_copy(update={"roles": roles})
        return self._users.users[user_id]

    def credential_for(self, email: str) -> Credential | None:
        return self._users.credentials.get(email)
