"""The text and HTML of every email the shop sends."""

from __future__ import annotations

from html import escape

from shop.domain.jobs import EmailKind
from shop.domain.models import CancellationReason, Order, Refund, User
from shop.service_layer.ports import EmailMessage

# ISO 4217 minor units of the currencies the shop accepts; the rest have two.
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})


def format_money(amount: int, currency: str) -> str:
    """`2800, "EUR"` -> `"EUR 28.00"`; amounts are integer minor units."""
    if currency in _ZERO_DECIMAL_CURRENCIES:
        return f"{currency} {amount:,}"
    return f"{currency} {amount // 100:,}.{amount % 100:02d}"


def render_email(kind: EmailKind, user: User, order: Order | None, refund: Refund | None = None) -> EmailMessage:
    """The email of `kind` for `user`; every kind but the welcome needs its order, a refund notice its refund too."""
    if kind == "welcome":
        return _message(
            user,
            "Welcome to the shop",
            [f"Hello {user.name},", "your account is ready. You can place your first order now."],
        )
    if order is None:
        raise ValueError(f"a {kind} email needs its order")
    total = format_money(order.total, order.currency)
    if kind == "refund":
        if refund is None:
            raise ValueError("a refund email needs its refund")
        amount = format_money(refund.amount, refund.currency)
        return _message(
            user,
            f"Refund of {amount} for order {order.id}",
            [
                f"Hello {user.name},",
                f"we have refunded {amount} of your payment of {total} for order {order.id}.",
                f"Reason: {refund.reason}",
                "It reaches your card within 5 to 10 business days, depending on your bank.",
            ],
        )
    if kind == "receipt":
        lines = [f"Hello {user.name},", f"we received your payment of {total} for order {order.id}. Thank you!"]
        lines += [
            f"{item.quantity} x {item.name} ({item.sku}) at {format_money(item.unit_price, order.currency)}"
            for item in order.items
        ]
        return _message(user, f"Receipt for order {order.id}", lines)
    if kind == "order_cancelled":
        why = (
            "it was not paid in time"
            if order.cancellation_reason is CancellationReason.ABANDONED
            else "you cancelled it"
        )
        return _message(
            user,
            f"Order {order.id} cancelled",
            [f"Hello {user.name},", f"order {order.id} for {total} is cancelled: {why}. Nothing was charged."],
        )
    return _message(
        user,
        f"Payment failed for order {order.id}",
        [
            f"Hello {user.name},",
            f"we could not charge {total} for order {order.id}, so the order could not be completed.",
            "Please place it again with another payment method.",
        ],
    )


def _message(user: User, subject: str, lines: list[str]) -> EmailMessage:
    html_lines = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = f'<!doctype html><html><body style="font-family: sans-serif">{html_lines}</body></html>'
    return EmailMessage(to=user.email, subject=subject, text="\n\n".join(lines) + "\n", html=html)
