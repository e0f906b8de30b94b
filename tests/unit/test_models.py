from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shop.domain.models import MAX_ORDER_LINES, CreateOrderRequest, RegisterRequest
from shop.entrypoints.settings import ConfigurationError, load_settings

VALID_ORDER: dict[str, Any] = {
    "items": [{"sku": "A-1", "quantity": 1}],
    "currency": "EUR",
    "payment_method": "pm_card_visa",
}


@pytest.mark.parametrize(
    "change",
    [
        {"items": []},
        {"items": [{"sku": f"A{n}", "quantity": 1} for n in range(50)]},
        {"items": [{"sku": "A", "quantity": 1001}]},
        {"items": [{"sku": "A", "quantity": "1"}]},
        {"items": [{"sku": "", "quantity": 1}]},
        {"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 2}]},
        {"currency": "eur"},
        {"currency": "XBT"},
        {"payment_method": "pm_"},
        {"payment_method": "card_visa"},
    ],
)
def test_order_limits_are_enforced(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateOrderRequest.model_validate(VALID_ORDER | change)


def test_the_most_lines_an_order_transaction_can_hold_are_accepted() -> None:
    order = CreateOrderRequest.model_validate(
        VALID_ORDER | {"items": [{"sku": f"A{n}", "quantity": 1} for n in range(MAX_ORDER_LINES)]}
    )

    assert len(order.items) == MAX_ORDER_LINES


def test_a_unit_price_from_the_client_is_refused_saying_prices_come_from_the_catalog() -> None:
    with pytest.raises(ValidationError, match="prices come from the catalog"):
        CreateOrderRequest.model_validate(VALID_ORDER | {"items": [{"sku": "A", "quantity": 1, "unit_price": 1}]})


@pytest.mark.parametrize(
    "change",
    [{"email": "not-an-email"}, {"password": "short"}, {"password": "x" * 129}, {"name": ""}, {"name": "n" * 101}],
)
def test_registration_limits_are_enforced(change: dict[str, str]) -> None:
    valid = {"email": "a@example.com", "password": "twelve chars!", "name": "A"}

    with pytest.raises(ValidationError):
        RegisterRequest.model_validate(valid | change)


def test_a_missing_variable_stops_init_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="TABLE_NAME"):
        load_settings({"PAYMENTS_QUEUE_URL": "q"})
