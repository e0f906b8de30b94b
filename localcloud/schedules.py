"""EventBridge schedules: `rate()` and `cron()` expressions, their fire times, and the scheduled invocations.

Times are UTC, as on EventBridge. A `rate()` schedule first fires one period after the scheduler
is created, then every period. A schedule whose times pass while the scheduler is not looking
(a suspended laptop) fires once, for the latest of them, not once per missed time. Invocations
are synchronous and not retried (EventBridge invokes asynchronously, and Lambda retries a failed
asynchronous event twice).
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from localcloud.spec import Invocation, Invoker, ScheduleEventSpec, StackSpec

logger = logging.getLogger(__name__)

_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_UNIT_PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_FIRST_YEAR = 1970
_LAST_YEAR = 2199


class ScheduleExpressionError(ValueError):
    """A schedule expression EventBridge would reject."""


@dataclass(frozen=True)
class RateExpression:
    """`rate(N unit)`: every period, counted from an anchor time."""

    period: timedelta

    def next_fire_after(self, moment: datetime, anchor: datetime) -> datetime:
        """The first anchor + k * period (k >= 1) strictly after `moment`."""
        periods = max(1, (moment - anchor) // self.period + 1)
        return anchor + periods * self.period


@dataclass(frozen=True)
class _DayOfMonthRule:
    days: frozenset[int] = frozenset()
    kind: Literal["days", "last", "last_weekday", "nearest_weekday", "any"] = "days"

    def matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.kind == "any":
            return True
        if self.kind == "last":
            return day.day == last
        if self.kind == "last_weekday":
            return day.day == _nearest_weekday(day.year, day.month, last)
        if self.kind == "nearest_weekday":
            wanted = next(iter(self.days))
            return wanted <= last and day.day == _nearest_weekday(day.year, day.month, wanted)
        return day.day in self.days


@dataclass(frozen=True)
class _DayOfWeekRule:
    # EventBridge numbers days 1 (SUN) to 7 (SAT).
    days: frozenset[int] = frozenset()
    kind: Literal["days", "last_of_month", "nth_of_month", "any"] = "days"
    nth: int = 0

    def matches(self, day: date) -> bool:
        weekday = _eventbridge_weekday(day)
        if self.kind == "any":
            return True
        if weekday not in self.days:
            return False
        if self.kind == "last_of_month":
            return day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        if self.kind == "nth_of_month":
            return (day.day - 1) // 7 + 1 == self.nth
        return True


@dataclass(frozen=True)
class CronExpression:
    """EventBridge's six-field `cron(minutes hours day-of-month month day-of-week year)`."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: _DayOfMonthRule
    months: frozenset[int]
    days_of_week: _DayOfWeekRule
    years: tuple[int, ...]

    def next_fire_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after `moment`, None if there is none before 2200."""
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        while True:
            next_year = next((year for year in self.years if year >= day.year), None)
            if next_year is None:
                return None
            if next_year != day.year:
                day = date(next_year, 1, 1)
            if day.month not in self.months:
                day = _first_of_next_month(day)
                continue
            if self.days_of_month.matches(day) and self.days_of_week.matches(day):
                earliest = (start.hour, start.minute) if day == start.date() else (0, 0)
                fire_time = self._first_time_of_day(earliest)
                if fire_time is not None:
                    return datetime(day.year, day.month, day.day, *fire_time, tzinfo=UTC)
            day += timedelta(days=1)

    def _first_time_of_day(self, earliest: tuple[int, int]) -> tuple[int, int] | None:
        return next(
            ((hour, minute) for hour in self.hours for minute in self.minutes if (hour, minute) >= earliest), None
        )


ScheduleExpression = RateExpression | CronExpression


def parse_schedule_expression(expression: str) -> ScheduleExpression:
    """Parses `rate(...)` or `cron(...)` as EventBridge does; raises ScheduleExpressionError."""
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        return _parse_rate(expression, int(rate["value"]), rate["unit"])
    cron = _CRON.fullmatch(expression)
    if cron is not None:
        return _parse_cron(expression, cron["fields"].split())
    raise ScheduleExpressionError(
        f"invalid schedule expression {expression!r}: expected rate(N unit) or cron(min hour dom month dow year)"
    )


def _parse_rate(expression: str, value: int, unit: str) -> RateExpression:
    if value < 1:
        raise ScheduleExpressionError(f"invalid schedule expression {expression!r}: the rate must be at least 1")
    singular = unit.removesuffix("s")
    if (value == 1) != (unit == singular):
        expected = singular if value == 1 else f"{singular}s"
        raise ScheduleExpressionError(f"invalid schedule expression {expression!r}: write rate({value} {expected})")
    return RateExpression(value * _UNIT_PERIODS[singular])


def _parse_cron(expression: str, fields: list[str]) -> CronExpression:
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"invalid schedule expression {expression!r}: cron() takes 6 fields "
            f"(minutes hours day-of-month month day-of-week year), not {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleExpressionError(
            f"invalid schedule expression {expression!r}: exactly one of day-of-month and day-of-week must be ?"
        )
    try:
        return CronExpression(
            minutes=tuple(sorted(_parse_field(minutes, 0, 59, "minutes"))),
            hours=tuple(sorted(_parse_field(hours, 0, 23, "hours"))),
            days_of_month=_parse_day_of_month(day_of_month),
            months=frozenset(_parse_field(month, 1, 12, "month", _MONTH_NAMES)),
            days_of_week=_parse_day_of_week(day_of_week),
            years=tuple(sorted(_parse_field(year, _FIRST_YEAR, _LAST_YEAR, "year"))),
        )
    except ScheduleExpressionError as error:
        raise ScheduleExpressionError(f"invalid schedule expression {expression!r}: {error}") from None


def _parse_day_of_month(field: str) -> _DayOfMonthRule:
    if field == "?":
        return _DayOfMonthRule(kind="any")
    if field == "L":
        return _DayOfMonthRule(kind="last")
    if field == "LW":
        return _DayOfMonthRule(kind="last_weekday")
    if field.endswith("W"):
        return _DayOfMonthRule(frozenset({_number(field[:-1], 1, 31, "day-of-month")}), "nearest_weekday")
    return _DayOfMonthRule(frozenset(_parse_field(field, 1, 31, "day-of-month")))


def _parse_day_of_week(field: str) -> _DayOfWeekRule:
    if field == "?":
        return _DayOfWeekRule(kind="any")
    if field == "L":
        return _DayOfWeekRule(frozenset({_DAY_NAMES["SAT"]}))
    if field.endswith("L"):
        return _DayOfWeekRule(frozenset({_number(field[:-1], 1, 7, "day-of-week", _DAY_NAMES)}), "last_of_month")
    if "#" in field:
        day, _, nth = field.partition("#")
        return _DayOfWeekRule(
            frozenset({_number(day, 1, 7, "day-of-week", _DAY_NAMES)}), "nth_of_month", _number(nth, 1, 5, "#")
        )
    return _DayOfWeekRule(frozenset(_parse_field(field, 1, 7, "day-of-week", _DAY_NAMES)))


def _parse_field(field: str, low: int, high: int, name: str, names: dict[str, int] | None = None) -> set[int]:
    values: set[int] = set()
    for item in field.split(","):
        values.update(_parse_item(item, low, high, name, names))
    return values


def _parse_item(item: str, low: int, high: int, name: str, names: dict[str, int] | None) -> Iterable[int]:
    base, slash, step_text = item.partition("/")
    step = _number(step_text, 1, high - low + 1, f"{name} increment") if slash else 1
    if base == "*":
        first, last = low, high
    elif "-" in base:
        start_text, _, end_text = base.partition("-")
        first, last = _number(start_text, low, high, name, names), _number(end_text, low, high, name, names)
    else:
        first = _number(base, low, high, name, names)
        last = high if slash else first
    span = range(first, last + 1) if first <= last else [*range(first, high + 1), *range(low, last + 1)]
    return list(span)[::step]


def _number(text: str, low: int, high: int, name: str, names: dict[str, int] | None = None) -> int:
    if names is not None and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleExpressionError(f"{text!r} is not a valid {name} value")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleExpressionError(f"{name} value {value} is outside {low}-{high}")
    return value


def _eventbridge_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day_of_month: int) -> int:
    last = calendar.monthrange(year, month)[1]
    weekday = date(year, month, day_of_month).weekday()
    if weekday == calendar.SATURDAY:
        return day_of_month - 1 if day_of_month > 1 else day_of_month + 2
    if weekday == calendar.SUNDAY:
        return day_of_month + 1 if day_of_month < last else day_of_month - 2
    return day_of_month


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _ScheduledRule:
    function_logical_id: str
    spec: ScheduleEventSpec
    expression: ScheduleExpression
    input: object
    anchor: datetime
    next_fire: datetime | None


class Scheduler:
    """Fires the stack's enabled schedules on time, and any schedule on demand."""

    def __init__(
        self,
        stack: StackSpec,
        invoker: Invoker,
        *,
        clock: Callable[[], datetime] = _utc_now,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._stack = stack
        self._invoker = invoker
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        now = self._now()
        self._rules = [
            self._rule(function.logical_id, spec, now)
            for function in stack.functions.values()
            for spec in function.schedule_events
        ]

    def next_fire_times(self) -> dict[tuple[str, str], datetime | None]:
        """When each schedule fires next, by (function logical id, schedule name); None when disabled or never."""
        with self._lock:
            return {(rule.function_logical_id, rule.spec.name): rule.next_fire for rule in self._rules}

    def fire_due(self) -> list[Invocation]:
        """Fires, one after the other, every enabled schedule whose time has come, and waits for them."""
        return [self._fire(rule, fire_time) for rule, fire_time in self._take_due()]

    def fire_now(self, function_logical_id: str, schedule_name: str | None = None) -> list[Invocation]:
        """Fires a function's schedules (or the named one) now, enabled or not, as a test would."""
        rules = [
            rule
            for rule in self._rules
            if rule.function_logical_id == function_logical_id and schedule_name in (None, rule.spec.name)
        ]
        if not rules:
            wanted = function_logical_id if schedule_name is None else f"{function_logical_id}/{schedule_name}"
            raise KeyError(f"no schedule {wanted}")
        now = self._now().replace(microsecond=0)
        return [self._fire(rule, now) for rule in rules]

    def start(self) -> None:
        """Fires due schedules from a background thread, each invocation on a worker thread."""
        if self._thread is not None:
            raise RuntimeError("the scheduler is already started")
        self._stop.clear()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="schedule-invocation")
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops firing and waits for invocations under way."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._thread = None
        self._executor = None

    def _run(self) -> None:
        while not self._stop.wait(self._poll_interval_s):
            executor = self._executor
            if executor is None:
                return
            for rule, fire_time in self._take_due():
                executor.submit(self._fire, rule, fire_time)

    def _take_due(self) -> list[tuple[_ScheduledRule, datetime]]:
        now = self._now()
        due = []
        with self._lock:
            for rule in self._rules:
                fire_time = rule.next_fire
                if fire_time is None or fire_time > now:
                    continue
                # Times missed while the process slept collapse into one firing, at the latest of them.
                following = _next_fire(rule.expression, fire_time, rule.anchor)
                while following is not None and following <= now:
                    fire_time, following = following, _next_fire(rule.expression, following, rule.anchor)
                rule.next_fire = following
                due.append((rule, fire_time))
        return due

    def _fire(self, rule: _ScheduledRule, fire_time: datetime) -> Invocation:
        event = rule.input if rule.spec.input is not None else self._scheduled_event(rule, fire_time)
        invocation = self._invoker.invoke(rule.function_logical_id, event)
        if invocation.error is not None or invocation.timed_out or invocation.crashed:
            reason = "timed out" if invocation.timed_out else "crashed" if invocation.crashed else "failed"
            logger.warning("schedule %s: %s %s", rule.spec.name, rule.function_logical_id, reason)
        return invocation

    def _scheduled_event(self, rule: _ScheduledRule, fire_time: datetime) -> dict[str, object]:
        region, account = self._stack.region, self._stack.account_id
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account,
            "time": fire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:events:{region}:{account}:rule/{rule.spec.name}"],
            "detail": {},
        }

    def _rule(self, function_logical_id: str, spec: ScheduleEventSpec, now: datetime) -> _ScheduledRule:
        try:
            expression = parse_schedule_expression(spec.expression)
        except ScheduleExpressionError as error:
            raise ScheduleExpressionError(f"{function_logical_id} schedule {spec.name}: {error}") from None
        payload: object = None
        if spec.input is not None:
            try:
                payload = json.loads(spec.input)
            except json.JSONDecodeError as error:
                raise ValueError(f"{function_logical_id} schedule {spec.name}: Input is not JSON: {error}") from None
        next_fire = _next_fire(expression, now, now) if spec.enabled else None
        return _ScheduledRule(function_logical_id, spec, expression, payload, now, next_fire)

    def _now(self) -> datetime:
        moment = self._clock()
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _next_fire(expression: ScheduleExpression, now: datetime, anchor: datetime) -> datetime | None:
    if isinstance(expression, RateExpression):
        return expression.next_fire_after(now, anchor)
    return expression.next_fire_after(now)
