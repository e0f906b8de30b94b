"""Injected failures: server errors, rate limiting, hung responses and added latency."""

from __future__ import annotations

import enum
import math
import random
import threading
from dataclasses import asdict, dataclass, fields


class FaultConfigError(ValueError):
    """A fault configuration value out of range or of the wrong type."""


class Fault(enum.Enum):
    """A failure injected in place of a request's execution."""

    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    HANG = "hang"


@dataclass(frozen=True)
class FaultConfig:
    """How often each fault happens (probabilities per request) and how long hangs and latency last."""

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "hang_rate"):
            _require_number(name, getattr(self, name), upper=1.0)
        _require_number("hang_seconds", self.hang_seconds)
        _require_number("latency_ms", self.latency_ms)
        if self.error_rate + self.rate_limit_rate + self.hang_rate > 1.0:
            raise FaultConfigError("error_rate + rate_limit_rate + hang_rate must not exceed 1")

    @classmethod
    def from_json(cls, data: object) -> FaultConfig:
        """Build from a decoded JSON object; fields left out take their defaults."""
        if not isinstance(data, dict):
            raise FaultConfigError("the fault configuration must be a JSON object")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def to_json(self) -> dict[str, float]:
        return asdict(self)

    def draw(self, roll: float) -> Fault | None:
        """The fault for a uniform roll in [0, 1): the rates partition the interval."""
        threshold = 0.0
        for fault, rate in (
            (Fault.SERVER_ERROR, self.error_rate),
            (Fault.RATE_LIMIT, self.rate_limit_rate),
            (Fault.HANG, self.hang_rate),
        ):
            threshold += rate
            if roll < threshold:
                return fault
        return None


def _require_number(name: str, value: object, *, upper: float = math.inf) -> None:
    # bool is an int subclass, and JSON true must not pass for a rate of 1.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultConfigError(f"{name} must be a finite number, got {value!r}")
    if not 0 <= value <= upper:
        bound = f"between 0 and {upper:g}" if math.isfinite(upper) else "at least 0"
        raise FaultConfigError(f"{name} must be {bound}, got {value!r}")


class FaultInjector:
    """Draws faults from a seeded random generator, so a seed replays the same sequence of faults."""

    def __init__(self, config: FaultConfig, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._random = random.Random(seed)
        self._injected = dict.fromkeys(Fault, 0)

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config

    def next_fault(self) -> tuple[Fault | None, FaultConfig]:
        """The fault for the next request, and the configuration it was drawn under."""
        with self._lock:
            fault = self._config.draw(self._random.random())
            if fault is not None:
                self._injected[fault] += 1
            return fault, self._config

    def injected(self) -> dict[str, int]:
        """How many of each fault have been injected so far, keyed by fault name."""
        with self._lock:
            return {fault.value: count for fault, count in self._injected.items()}
