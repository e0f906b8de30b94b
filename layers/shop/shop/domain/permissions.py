"""Who may do what: the one table of actions and the roles they need, and the ownership rules.

Every route names its action (`shop.entrypoints.routes.Route.action`) and `shop.entrypoints.http.endpoint`
asks `authorize` before the handler runs; a service that loads a resource by another key than its
owner's asks again with the resource. Nothing else in the code looks at a role.

Ownership: a role listed under `own_only` may take the action only on resources the caller owns.
Anyone else's (another customer's order) is then "not found" (404), never "forbidden": its
existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shop.domain.models import Principal, Role
from shop.errors import Forbidden, NotFound


class Action(StrEnum):
    PROFILE_READ = "profile:read"
    ORDER_CREATE = "order:create"
    ORDER_READ = "order:read"
    ORDER_LIST = "order:list"
    PRODUCT_WRITE = "product:write"
    ADMIN_ORDERS_READ = "admin:orders:read"
    ADMIN_ORDERS_RESOLVE = "admin:orders:resolve"
    USER_ROLES_WRITE = "user:roles:write"
    ORDER_REFUND = "order:refund"
    ORDER_CANCEL = "order:cancel"


@dataclass(frozen=True)
class Rule:
    """The roles that may take an action; those in `own_only` only on what the caller owns."""

    roles: frozenset[Role]
    own_only: frozenset[Role] = frozenset()


_ANYONE_SIGNED_IN = frozenset(Role)
_STAFF = frozenset({Role.SUPPORT, Role.ADMIN})
_ADMIN = frozenset({Role.ADMIN})
_OWN_ORDERS = Rule(frozenset({Role.CUSTOMER}), own_only=frozenset({Role.CUSTOMER}))

# One line per action. Orders under /orders are the caller's own (they are read under the caller's
# partition); staff see everyone's through /admin/orders.
RULES: dict[Action, Rule] = {
    Action.PROFILE_READ: Rule(_ANYONE_SIGNED_IN),
    Action.ORDER_CREATE: _OWN_ORDERS,
    Action.ORDER_READ: _OWN_ORDERS,
    Action.ORDER_LIST: _OWN_ORDERS,
    Action.PRODUCT_WRITE: Rule(_ADMIN),
    Action.ADMIN_ORDERS_READ: Rule(_STAFF),
    Action.ADMIN_ORDERS_RESOLVE: Rule(_ADMIN),
    Action.USER_ROLES_WRITE: Rule(_ADMIN),
    Action.ORDER_REFUND: Rule(_STAFF),
    Action.ORDER_CANCEL: _OWN_ORDERS,
}


@dataclass(frozen=True)
class Resource:
    """What an action is taken on: its kind, its id, and the user who owns it."""

    kind: str
    id: str
    owner_id: str


def roles_of(principal: Principal) -> frozenset[Role]:
    """The caller's roles that this code knows; an unknown name in a token grants nothing."""
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in principal.roles if name in known)


def required_roles(action: Action) -> tuple[Role, ...]:
    """The roles that may take `action`, in the order `Role` declares them (for the API document)."""
    rule = RULES[action]
    return tuple(role for role in Role if role in rule.roles)


def authorize(principal: Principal, action: Action, resource: Resource | None = None) -> None:
    """Return if `principal` may take `action` (on `resource`); raise `Forbidden`, or `NotFound` for a hidden one."""
    rule = RULES[action]
    granting = roles_of(principal) & rule.roles
    if not granting:
        raise Forbidden(f"this needs one of the roles {', '.join(required_roles(action))}")
    if resource is None or resource.owner_id == principal.user_id:
        return
    if granting <= rule.own_only:
        raise NotFound(f"{resource.kind} {resource.id} was not found")
