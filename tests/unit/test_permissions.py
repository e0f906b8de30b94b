"""The permissions table: roles per action, and the ownership rules."""

from __future__ import annotations

import pytest

from shop.domain.models import Principal, Role
from shop.domain.permissions import RULES, Action, Resource, authorize, required_roles, roles_of
from shop.errors import Forbidden, NotFound


def caller(*roles: str, user_id: str = "u-1") -> Principal:
    return Principal(user_id=user_id, roles=roles)


def test_every_action_has_a_rule_and_every_rule_grants_someone() -> None:
    assert set(RULES) == set(Action)
    assert all(rule.roles for rule in RULES.values())
    assert all(rule.own_only <= rule.roles for rule in RULES.values())


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (Action.PROFILE_READ, {Role.CUSTOMER, Role.SUPPORT, Role.ADMIN}),
        (Action.ORDER_CREATE, {Role.CUSTOMER}),
        (Action.PRODUCT_WRITE, {Role.ADMIN}),
        (Action.ADMIN_ORDERS_READ, {Role.SUPPORT, Role.ADMIN}),
        (Action.ADMIN_ORDERS_RESOLVE, {Role.ADMIN}),
        (Action.USER_ROLES_WRITE, {Role.ADMIN}),
    ],
)
def test_each_role_may_take_exactly_the_actions_the_table_gives_it(action: Action, allowed: set[Role]) -> None:
    for role in Role:
        if role in allowed:
            authorize(caller(role.value), action)
        else:
            with pytest.raises(Forbidden):
                authorize(caller(role.value), action)


def test_a_forbidden_action_names_the_roles_it_needs() -> None:
    with pytest.raises(Forbidden, match="support, admin"):
        authorize(caller("customer"), Action.ADMIN_ORDERS_READ)


def test_a_caller_without_roles_or_with_unknown_ones_may_do_nothing() -> None:
    for principal in (caller(), caller("superuser", "root")):
        assert roles_of(principal) == frozenset()
        with pytest.raises(Forbidden):
            authorize(principal, Action.PROFILE_READ)


def test_a_customer_asking_for_another_customers_order_is_told_it_does_not_exist() -> None:
    strangers_order = Resource(kind="order", id="o-9", owner_id="u-2")

    with pytest.raises(NotFound, match="order o-9 was not found"):
        authorize(caller("customer"), Action.ORDER_READ, strangers_order)


def test_a_customer_may_act_on_their_own_order() -> None:
    authorize(caller("customer"), Action.ORDER_READ, Resource(kind="order", id="o-1", owner_id="u-1"))


def test_staff_roles_are_not_owner_bound() -> None:
    strangers_order = Resource(kind="order", id="o-9", owner_id="u-2")

    authorize(caller("support"), Action.ADMIN_ORDERS_READ, strangers_order)
    authorize(caller("admin"), Action.ADMIN_ORDERS_RESOLVE, strangers_order)


def test_required_roles_follow_the_declaration_order_of_role() -> None:
    assert required_roles(Action.ADMIN_ORDERS_READ) == (Role.SUPPORT, Role.ADMIN)
