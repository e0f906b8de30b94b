"""The domain's errors. `shop.entrypoints.http` maps each class to one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The resource does not exist, or belongs to someone else."""

    title = "Not found"


class Conflict(DomainError):
    """The request contradicts the current state (a taken email, a reused idempotency key)."""

    title = "Conflict"


class PreconditionFailed(DomainError):
    """The If-Match header names a version that is no longer the current one."""

    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """The change needs an If-Match header naming the version it was made against."""

    title = "Precondition required"


@dataclass(frozen=True)
class Shortage:
    """One line of an order that the stock cannot cover."""

    sku: str
    requested: int
    available: int

    @property
    def short_by(self) -> int:
        return self.requested - self.available


class OutOfStock(Conflict):
    """Some lines ask for more units than are in stock; `shortages` says which and by how much."""

    title = "Out of stock"

    def __init__(self, shortages: Sequence[Shortage]) -> None:
        named = ", ".join(f"{s.sku} (short by {s.short_by})" for s in shortages)
        super().__init__(f"not enough stock for {named}")
        self.shortages = tuple(shortages)


class IdempotencyKeyMismatch(DomainError):
    """The Idempotency-Key was first used with another request body."""

    title = "Idempotency key reused"


class Unauthenticated(DomainError):
    """Credentials are missing, wrong or expired."""

    title = "Unauthorized"


class AccountGone(Unauthenticated):
    """The token is valid, but the account it was issued for no longer exists."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    title = "Forbidden"


@dataclass(frozen=True)
class FieldProblem:
    """One failing input field, by its location in the request."""

    location: str
    message: str


class Invalid(DomainError):
    """The input breaks a rule; `fields` names the failing fields."""

    title = "Validation failed"

    def __init__(self, detail: str, fields: Sequence[FieldProblem] = ()) -> None:
        super().__init__(detail)
        self.fields = tuple(fields)


class MalformedRequest(DomainError):
    """The request cannot be read at all (not JSON, a tampered cursor)."""

    title = "Bad request"


class UnsupportedMediaType(DomainError):
    """The request body is not in the media type the route takes (application/json)."""

    title = "Unsupported media type"


class PayloadTooLarge(DomainError):
    """The request body is over the limit."""

    title = "Payload too large"


class Throttled(DomainError):
    """Too many attempts; retry after `retry_after` seconds."""

    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency is down; the caller may retry."""

    title = "Service unavailable"


class Contention(Unavailable):
    """Concurrent writes to the same items cancelled a transaction; a retry after `retry_after` seconds may pass."""

    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NeedsOperator(DomainError):
    """Retrying cannot fix this: a person must act before the work can go on."""

    title = "Needs an operator"
    # The metric the workers count it under; an alarm watches it.
    metric = "NeedsOperator"


class Misconfigured(NeedsOperator):
    """A dependency refuses our credentials or our requests: the configuration is wrong."""

    title = "Misconfigured"
    metric = "ConfigurationFault"


class OutcomeUnknown(Unavailable):
    """The call timed out after it was sent: the dependency may or may not have acted on it."""

    title = "Outcome unknown"


class PoisonMessage(DomainError):
    """A message no retry can fix: not JSON, an unknown type or version, or a broken schema."""

    title = "Poison message"


class ChargeNeedsReview(NeedsOperator):
    """The order's first charge attempt is older than the provider's idempotency window."""

    title = "Charge needs review"
    metric = "ChargeNeedsReview"


class RefundNeedsReview(NeedsOperator):
    """A refund still pending past the provider's idempotency window: a person checks it at the provider."""

    title = "Refund needs review"
    metric = "RefundNeedsReview"
