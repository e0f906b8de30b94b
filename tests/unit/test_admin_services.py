"""Operator services with in-memory stores: orders across customers, review decisions, roles."""

from __future__ import annotations

import pytest

from shop.adapters.signing_keys import StaticSigningKey
from shop.domain.models import (
    AdminListOrdersQuery,
    AdminOrderView,
    Credential,
    OrderLine,
    OrderStatus,
    ResolveOrderRequest,
    Role,
    SetRolesRequest,
    User,
)
from shop.errors import Conflict, MalformedRequest, NotFound
from shop.service_layer.admin_orders import AdminOrderService
from shop.service_layer.cursors import CursorCodec
from shop.service_layer.roles import RoleService
from tests.unit.fakes import FixedClock, InMemoryUsers, RecordingQueue
from tests.unit.fakes_catalog import InMemoryAdminOrders, InMemoryUserRoles

STAMP = "2026-11-26T12:00:00.000Z"


def order(order_id: str, user_id: str = "u-1", review_reason: str | None = None) -> AdminOrderView:
    return AdminOrderView(
        id=order_id, user_id=user_id, status=OrderStatus.PENDING_PAYMENT,
        items=(OrderLine(sku="BOOK-1", name="A book", quantity=1, unit_price=100),), currency="EUR", total=100,
        payment_method="pm_card_visa", created_at=STAMP, updated_at=STAMP, review_reason=review_reason,
        charge_attempted_at=STAMP,
    )  # fmt: skip


class Operators:
    def __init__(self) -> None:
        self.orders = InMemoryAdminOrders()
        self.payments = RecordingQueue()
        self.notifications = RecordingQueue()
        self.service = AdminOrderService(
            self.orders, self.payments, self.notifications, CursorCodec(StaticSigningKey(b"k" * 32)), FixedClock()
        )

    def resolve(self, order_id: str, action: str) -> AdminOrderView:
        request = ResolveOrderRequest.model_validate({"action": action})
        return self.service.resolve("admin-1", order_id, request, correlation_id="c-1")


@pytest.fixture
def ops() -> Operators:
    return Operators()


def test_orders_across_customers_page_with_a_cursor_bound_to_the_operator(ops: Operators) -> None:
    for number, user in enumerate(("u-1", "u-2", "u-3")):
        ops.orders.orders[f"o-{number}"] = order(f"o-{number}", user)

    first = ops.service.list("admin-1", AdminListOrdersQuery(status=OrderStatus.PENDING_PAYMENT, limit=2))
    query = AdminListOrdersQuery(status=OrderStatus.PENDING_PAYMENT, limit=2, cursor=first.next_cursor)
    second = ops.service.list("admin-1", query)

    assert [o.id for o in first.items + second.items] == ["o-2", "o-1", "o-0"]
    with pytest.raises(MalformedRequest):
        ops.service.list("admin-2", query)


def test_retry_records_the_decision_and_queues_one_charge(ops: Operators) -> None:
    ops.orders.orders["o-1"] = order("o-1", review_reason="past the idempotency window")

    resolved = ops.resolve("o-1", "retry")

    assert resolved.review_decision == "retry" and resolved.reviewed_by == "admin-1"
    assert resolved.charge_attempted_at is None and not resolved.held_for_review
    assert [(job.type, job.order_id) for job in ops.payments.jobs] == [("charge_order", "o-1")]
    assert ops.notifications.jobs == []


def test_fail_ends_the_order_in_payment_failed_and_queues_its_failure_email(ops: Operators) -> None:
    ops.orders.orders["o-1"] = order("o-1", review_reason="past the idempotency window")

    resolved = ops.resolve("o-1", "fail")

    assert resolved.status is OrderStatus.PAYMENT_FAILED
    assert [(job.type, getattr(job, "kind", None)) for job in ops.notifications.jobs] == [
        ("send_email", "payment_failed")
    ]
    assert ops.payments.jobs == []


def test_an_order_not_held_or_already_decided_is_a_conflict_and_queues_nothing(ops: Operators) -> None:
    ops.orders.orders["o-1"] = order("o-1")
    ops.orders.orders["o-2"] = order("o-2", review_reason="held")
    ops.resolve("o-2", "retry")

    for order_id in ("o-1", "o-2"):
        with pytest.raises(Conflict):
            ops.resolve(order_id, "fail")

    assert len(ops.payments.jobs) == 1 and ops.notifications.jobs == []


def test_a_decision_survives_a_queue_outage_for_the_reconciler(ops: Operators) -> None:
    ops.orders.orders["o-1"] = order("o-1", review_reason="held")
    ops.payments.down = True

    resolved = ops.resolve("o-1", "retry")

    assert resolved.review_decision == "retry"


def test_an_unknown_order_is_not_found(ops: Operators) -> None:
    with pytest.raises(NotFound):
        ops.service.get("nope")


@pytest.fixture
def users() -> InMemoryUsers:
    store = InMemoryUsers()
    user = User(id="u-1", email="grace@example.com", name="Grace", roles=("customer",), created_at=STAMP)
    store.add(user, Credential(user_id="u-1", email=user.email, password_hash="h", roles=user.roles))
    return store


def test_set_roles_replaces_the_whole_set_in_declaration_order(users: InMemoryUsers) -> None:
    roles = RoleService(InMemoryUserRoles(users))

    user = roles.set_roles("u-1", SetRolesRequest(roles=[Role.ADMIN, Role.SUPPORT]))

    assert user.roles == ("support", "admin")
    assert users.credentials["grace@example.com"].roles == ("support", "admin")


def test_set_roles_of_an_unknown_user_is_not_found(users: InMemoryUsers) -> None:
    with pytest.raises(NotFound):
        RoleService(InMemoryUserRoles(users)).set_roles("nobody", SetRolesRequest(roles=[]))


def test_granting_by_email_keeps_the_other_roles_and_is_idempotent(users: InMemoryUsers) -> None:
    roles = RoleService(InMemoryUserRoles(users))

    first = roles.grant_by_email("grace@example.com", Role.ADMIN)
    second = roles.grant_by_email("grace@example.com", Role.ADMIN)

    assert first.roles == second.roles == ("customer", "admin")


def test_granting_to_an_unregistered_email_says_to_register_first(users: InMemoryUsers) -> None:
    with pytest.raises(NotFound, match="register it first"):
        RoleService(InMemoryUserRoles(users)).grant_by_email("nobody@example.com", Role.ADMIN)


def test_a_repeated_role_is_refused() -> None:
    with pytest.raises(ValueError, match="each role once"):
        SetRolesRequest.model_validate({"roles": ["admin", "admin"]})
