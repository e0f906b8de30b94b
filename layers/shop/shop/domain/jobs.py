"""Queue messages: versioned JSON naming the job, the ids it acts on and the correlation id."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from shop.errors import PoisonMessage

JOB_VERSION: Literal[1] = 1


class _Job(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = JOB_VERSION
    correlation_id: Annotated[str, Field(min_length=1, max_length=128)]


class ChargeOrder(_Job):
    """Charge an order's payment method for its total."""

    type: Literal["charge_order"] = "charge_order"
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    user_id: Annotated[str, Field(min_length=1, max_length=64)]


class RefundOrder(_Job):
    """Carry out one requested refund of an order at the payment provider."""

    type: Literal["refund_order"] = "refund_order"
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    refund_id: Annotated[str, Field(min_length=1, max_length=64)]


EmailKind = Literal["welcome", "receipt", "payment_failed", "refund", "order_cancelled"]


class SendEmail(_Job):
    """Send one email of a kind about a user or one of their orders."""

    type: Literal["send_email"] = "send_email"
    kind: EmailKind
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    order_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    refund_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None

    @model_validator(mode="after")
    def _order_matches_kind(self) -> Self:
        # A receipt, failure or cancellation notice is about one order; a welcome is about the user alone.
        if (self.kind == "welcome") != (self.order_id is None):
            raise ValueError(f"a {self.kind} email {'takes no' if self.kind == 'welcome' else 'needs an'} order_id")
        # A refund email is about one refund of the order: an order may have several.
        if (self.kind == "refund") != (self.refund_id is not None):
            raise ValueError(f"a {self.kind} email {'needs a' if self.kind == 'refund' else 'takes no'} refund_id")
        return self


AnyJob = ChargeOrder | RefundOrder | SendEmail
# What the payments queue carries: charges and refunds, both settled by the payment worker.
PaymentJob = ChargeOrder | RefundOrder
Job = Annotated[AnyJob, Field(discriminator="type")]
_JOB = TypeAdapter[AnyJob](Job)


def parse_job(body: str) -> AnyJob:
    try:
        return _JOB.validate_json(body)
    except ValidationError as exc:
        raise PoisonMessage(f"not a valid job: {exc.errors(include_url=False, include_input=False)}") from exc


def serialize_job(job: AnyJob) -> str:
    return job.model_dump_json()
