"""A fake Stripe-compatible payment provider: PaymentIntents, idempotency keys and injected faults."""

from localcloud.payments.faults import FaultConfig, FaultConfigError
from localcloud.payments.server import PaymentProvider
from localcloud.payments.store import StateFileError

__all__ = ["FaultConfig", "FaultConfigError", "PaymentProvider", "StateFileError"]
