"""Who may do what: one table of actions and the roles they need, asked by every handler through `authorize`."""

from __future__ import annotations

from enum import StrEnum

from shop.domain.models import Order, Principal
from shop.errors import Forbidden

type Resource = Order


class Action(StrEnum):
    ORDER_REFUND = "order:refund"


_ROLES_FOR: dict[Action, frozenset[str]] = {
    Action.ORDER_REFUND: frozenset({"admin", "support"}),
}


def authorize(principal: Principal, action: Action, resource: Resource | None = None) -> None:
    """Raise `Forbidden` unless the principal holds a role that `action` allows."""
    allowed = _ROLES_FOR[action]
    if allowed.isdisjoint(principal.roles):
        raise Forbidden(f"{action.value} needs one of the roles {', '.join(sorted(allowed))}")
