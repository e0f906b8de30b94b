from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shop.domain.models import CreateOrderRequest, RegisterRequest
from shop.entrypoints.settings import ConfigurationError, load_settings

VALID_ORDER: dict[str, Any] = {
    "items": [{"sku": "A-1", "quantity": 1, "unit_price": 1}],
    "currency": "EUR",
    "payment_method": "pm_card_visa",
}


@pytest.mark.parametrize(
    "change",
    [
        {"items": []},
        {"items": [{"sku": "A", "quantity": 1, "unit_price": 1}] * 51},
        {"items": [{"sku": "A", "quantity": 1001, "unit_price": 1}]},
        {"items": [{"sku": "A", "quantity": 1, "unit_price": 10_000_001}]},
        {"items": [{"sku": "A", "quantity": "1", "unit_price": 1}]},
        {"items": [{"sku": "", "quantity": 1, "unit_price": 1}]},
        {"currency": "eur"},
        {"currency": "XBT"},
        {"payment_method": "pm_"},
        {"payment_method": "card_visa"},
    ],
)
def test_order_limits_are_enforced(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateOrderRequest.model_validate(VALID_ORDER | change)


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
