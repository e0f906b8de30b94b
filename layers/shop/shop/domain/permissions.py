"""Who may do what: one table of actions and the roles they need, plus the ownership rule."""

from __future__ import annotations

from enum import StrEnum

from shop.domain.models import Order, Principal
from shop.errors import Forbidden, NotFound

Resource = Order


class Action(StrEnum):
    ORDER_CANCEL = "order:cancel"


_ROLES: dict[Action, frozenset[str]] = {
    Action.ORDER_CANCEL: frozenset({"customer"}),
}


def authorize(principal: Principal, action: Action, resource: Resource | None = None) -> None:
    """Raise `Forbidden` when no role of the caller allows `action`, `NotFound` for someone else's order."""
    if not _ROLES[action].intersection(principal.roles):
        raise Forbidden(f"{action.value} needs one of the roles {', '.join(sorted(_ROLES[action]))}")
    # Another customer's order answers as a missing one: its existence is not the caller's business.
    if isinstance(resource, Order) and resource.user_id != principal.user_id:
        raise NotFound(f"order {resource.id} was not found")
