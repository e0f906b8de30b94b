"""Every email has a subject, a text body and an HTML body, with the customer's text escaped."""

from __future__ import annotations

import pytest

from shop.domain.email_content import format_money, render_email
from shop.domain.models import OrderStatus, User
from tests.unit.fakes_pipeline import make_order

USER = User(
    id="u1", email="ada@example.com", name="<b>Ada</b>", roles=("customer",), created_at="2026-11-26T12:00:00.000Z"
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [(2800, "EUR", "EUR 28.00"), (5, "USD", "USD 0.05"), (123456, "GBP", "GBP 1,234.56"), (1500, "JPY", "JPY 1,500")],
)
def test_money_is_written_in_major_units_of_its_currency(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize(
    ("kind", "status", "subject"),
    [
        ("welcome", None, "Welcome to the shop"),
        ("receipt", OrderStatus.PAID, "Receipt for order 01ORDER000000000000000000A"),
        ("payment_failed", OrderStatus.PAYMENT_FAILED, "Payment failed for order 01ORDER000000000000000000A"),
    ],
)
def test_each_kind_renders_both_bodies_to_the_user(kind: str, status: OrderStatus | None, subject: str) -> None:
    order = None if status is None else make_order(status=status)

    message = render_email(kind, USER, order)  # type: ignore[arg-type]

    assert (message.to, message.subject) == ("ada@example.com", subject)
    assert "<b>Ada</b>" in message.text
    assert "&lt;b&gt;Ada&lt;/b&gt;" in message.html
    assert "<b>Ada</b>" not in message.html


def test_a_receipt_lists_the_total_and_every_item() -> None:
    message = render_email("receipt", USER, make_order(status=OrderStatus.PAID))

    assert "EUR 28.00" in message.text
    assert "2 x A book (BOOK-1) at EUR 12.50" in message.text
    assert "1 x A pen (PEN) at EUR 3.00" in message.text
