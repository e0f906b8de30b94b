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


EmailKind = Literal["welcome", "receipt", "payment_failed", "order_cancelled"]


class SendEmail(_Job):
    """Send one email of a kind about a user or one of their orders."""

    type: Literal["send_email"] = "send_email"
    kind: EmailKind
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    order_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None

    @model_validator(mode="after")
    def _order_matches_kind(self) -> Self:
        # A receipt, failure or cancellation notice is about one order; a welcome is about the user alone.
        if (self.kind == "welcome") != (self.order_id is None):
            raise ValueError(f"a {self.kind} email {'takes no' if self.kind == 'welcome' else 'needs an'} order_id")
        return self


Job = Annotated[ChargeOrder | SendEmail, Field(discriminator="type")]
_JOB = TypeAdapter[ChargeOrder | SendEmail](Job)


def parse_job(body: str) -> ChargeOrder | SendEmail:
    try:
        return _JOB.validate_json(body)
    except ValidationError as exc:
        raise PoisonMessage(f"not a valid job: {exc.errors(include_url=False, include_input=False)}") from exc


def serialize_job(job: ChargeOrder | SendEmail) -> str:
    return job.model_dump_json()
