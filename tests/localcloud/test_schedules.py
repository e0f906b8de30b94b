"""EventBridge schedules: expression parsing, next fire times, and firing on an injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.schedules import (
    CronExpression,
    RateExpression,
    ScheduleExpressionError,
    Scheduler,
    parse_schedule_expression,
)
from localcloud.spec import ScheduleEventSpec
from tests.localcloud.in_process_invoker import InProcessInvoker
from tests.localcloud.spec_builders import ACCOUNT_ID, REGION, function_spec, stack_of


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def make_scheduler() -> Iterator[Callable[..., tuple[Scheduler, InProcessInvoker]]]:
    started: list[Scheduler] = []

    def make(
        *schedules: ScheduleEventSpec, clock: Clock, start: bool = False, poll_interval_s: float = 1.0
    ) -> tuple[Scheduler, InProcessInvoker]:
        invoker = InProcessInvoker({"Job": lambda event: {"done": True}})
        scheduler = Scheduler(
            stack_of(function_spec("Job", schedule_events=schedules)),
            invoker,
            clock=clock,
            poll_interval_s=poll_interval_s,
        )
        if start:
            scheduler.start()
            started.append(scheduler)
        return scheduler, invoker

    yield make
    for scheduler in started:
        scheduler.stop()


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_rate_expression_parses_to_its_period(expression: str, period: timedelta) -> None:
    # When
    parsed = parse_schedule_expression(expression)

    # Then
    assert parsed == RateExpression(period)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(1 hours)",
        "rate(2 day)",
        "rate(0 minutes)",
        "rate(30 seconds)",
        "rate(five minutes)",
        "rate(5  minutes)",
        "every 5 minutes",
        "cron(0 12 * * ?)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(60 * * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 ? 13 * *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 * * ? 1969)",
        "cron(0/0 * * * ? *)",
        "cron(0 0 1,L * ? *)",
        "cron(0 0 ? * MON#6 *)",
        "cron(0 0 ? * FUNDAY *)",
    ],
)
def test_invalid_expression_is_rejected_with_the_expression_named(expression: str) -> None:
    # When / Then
    with pytest.raises(ScheduleExpressionError, match="invalid schedule expression"):
        parse_schedule_expression(expression)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", "2024-03-10T11:59:30", "2024-03-10T12:00:00"),
        ("cron(0 12 * * ? *)", "2024-03-10T12:00:00", "2024-03-11T12:00:00"),
        ("cron(15 10 ? * MON-FRI *)", "2024-03-09T08:00:00", "2024-03-11T10:15:00"),
        ("cron(0/15 * * * ? *)", "2024-03-10T10:07:00", "2024-03-10T10:15:00"),
        ("cron(5,35 8-9 * * ? *)", "2024-03-10T09:35:00", "2024-03-11T08:05:00"),
        ("cron(0 22-1 * * ? *)", "2024-03-10T23:30:00", "2024-03-11T00:00:00"),
        ("cron(0 8 1 * ? *)", "2024-01-31T09:00:00", "2024-02-01T08:00:00"),
        ("cron(30 23 31 DEC ? *)", "2024-12-31T23:30:00", "2025-12-31T23:30:00"),
        ("cron(0 0 1 JAN ? 2026)", "2024-05-05T00:00:00", "2026-01-01T00:00:00"),
        ("cron(0 0 L * ? *)", "2024-02-01T00:00:00", "2024-02-29T00:00:00"),
        ("cron(0 9 LW * ? *)", "2024-03-01T00:00:00", "2024-03-29T09:00:00"),
        ("cron(0 9 15W * ? *)", "2024-06-01T00:00:00", "2024-06-14T09:00:00"),
        ("cron(0 10 1W * ? *)", "2024-05-31T00:00:00", "2024-06-03T10:00:00"),
        ("cron(0 9 ? * 6#3 *)", "2024-03-01T00:00:00", "2024-03-15T09:00:00"),
        ("cron(0 9 ? * 2L *)", "2024-03-01T00:00:00", "2024-03-25T09:00:00"),
        ("cron(0 9 ? * L *)", "2024-03-10T00:00:00", "2024-03-16T09:00:00"),
        ("cron(0 0 ? * SUN/2 *)", "2024-03-10T00:00:00", "2024-03-12T00:00:00"),
    ],
)
def test_cron_next_fire_time(expression: str, after: str, expected: str) -> None:
    # Given
    cron = parse_schedule_expression(expression)
    assert isinstance(cron, CronExpression)

    # When
    next_fire = cron.next_fire_after(utc(after))

    # Then
    assert next_fire == utc(expected)


@pytest.mark.parametrize("expression", ["cron(0 0 30 FEB ? *)", "cron(0 0 1 1 ? 2020)"])
def test_cron_that_never_fires_again_has_no_next_fire_time(expression: str) -> None:
    # Given
    cron = parse_schedule_expression(expression)
    assert isinstance(cron, CronExpression)

    # When / Then
    assert cron.next_fire_after(utc("2024-01-01T00:00:00")) is None


def test_rate_fires_one_period_after_its_anchor_and_every_period_after() -> None:
    # Given
    rate = RateExpression(timedelta(minutes=5))
    anchor = utc("2024-03-10T10:00:00")

    # When
    fire_times = [rate.next_fire_after(utc(after), anchor) for after in ("2024-03-10T10:00:00", "2024-03-10T10:12:00")]

    # Then
    assert fire_times == [utc("2024-03-10T10:05:00"), utc("2024-03-10T10:15:00")]


def test_due_cron_schedule_fires_once_with_a_scheduled_event(
    make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]],
) -> None:
    # Given
    clock = Clock(utc("2024-03-10T11:58:00"))
    scheduler, invoker = make_scheduler(ScheduleEventSpec("noon-report", "cron(0 12 * * ? *)"), clock=clock)

    # When
    early = scheduler.fire_due()
    clock.now = utc("2024-03-10T12:00:30")
    due = scheduler.fire_due()
    again = scheduler.fire_due()

    # Then
    assert (early, again) == ([], [])
    assert [invocation.payload for invocation in due] == [{"done": True}]
    [event] = invoker.calls_to("Job")
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": "2024-03-10T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/noon-report"],
        "detail": {},
    }
    assert scheduler.next_fire_times() == {("Job", "noon-report"): utc("2024-03-11T12:00:00")}


def test_rate_schedule_does_not_replay_missed_periods(
    make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]],
) -> None:
    # Given
    clock = Clock(utc("2024-03-10T10:00:00"))
    scheduler, invoker = make_scheduler(ScheduleEventSpec("tick", "rate(5 minutes)"), clock=clock)

    # When
    fired = []
    for now in ("2024-03-10T10:04:59", "2024-03-10T10:05:00", "2024-03-10T10:17:00"):
        clock.now = utc(now)
        fired.append(len(scheduler.fire_due()))

    # Then
    assert fired == [0, 1, 1]
    assert [event["time"] for event in invoker.calls_to("Job")] == ["2024-03-10T10:05:00Z", "2024-03-10T10:15:00Z"]
    assert scheduler.next_fire_times() == {("Job", "tick"): utc("2024-03-10T10:20:00")}


def test_schedule_input_is_sent_instead_of_the_scheduled_event(
    make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]],
) -> None:
    # Given
    clock = Clock(utc("2024-03-10T10:00:00"))
    schedule = ScheduleEventSpec("with-input", "rate(1 minute)", input='{"task": "cleanup", "limit": 10}')
    scheduler, invoker = make_scheduler(schedule, clock=clock)

    # When
    clock.now = utc("2024-03-10T10:01:00")
    scheduler.fire_due()

    # Then
    assert invoker.calls_to("Job") == [{"task": "cleanup", "limit": 10}]


def test_disabled_schedule_fires_only_on_demand(
    make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]],
) -> None:
    # Given
    clock = Clock(utc("2024-03-10T10:00:00"))
    scheduler, invoker = make_scheduler(ScheduleEventSpec("off", "rate(1 minute)", enabled=False), clock=clock)

    # When
    clock.now = utc("2024-03-10T11:00:00")
    due = scheduler.fire_due()
    on_demand = scheduler.fire_now("Job")

    # Then
    assert due == []
    assert len(on_demand) == 1
    assert invoker.calls_to("Job")[0]["time"] == "2024-03-10T11:00:00Z"
    assert scheduler.next_fire_times() == {("Job", "off"): None}


def test_fire_now_picks_the_named_schedule(make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]]) -> None:
    # Given
    clock = Clock(utc("2024-03-10T10:00:00"))
    scheduler, invoker = make_scheduler(
        ScheduleEventSpec("a", "rate(1 hour)"), ScheduleEventSpec("b", "rate(1 day)"), clock=clock
    )

    # When
    scheduler.fire_now("Job", "b")

    # Then
    assert [event["resources"][0].rsplit("/", 1)[1] for event in invoker.calls_to("Job")] == ["b"]


@pytest.mark.parametrize(("function", "schedule"), [("Unknown", None), ("Job", "missing")])
def test_fire_now_of_an_unknown_schedule_raises(
    make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]], function: str, schedule: str | None
) -> None:
    # Given
    scheduler, _ = make_scheduler(ScheduleEventSpec("a", "rate(1 hour)"), clock=Clock(utc("2024-03-10T10:00:00")))

    # When / Then
    with pytest.raises(KeyError, match="no schedule"):
        scheduler.fire_now(function, schedule)


def test_started_scheduler_fires_when_the_clock_reaches_the_schedule(
    make_scheduler: Callable[..., tuple[Scheduler, InProcessInvoker]],
) -> None:
    # Given
    clock = Clock(utc("2024-03-10T10:00:00"))
    _, invoker = make_scheduler(
        ScheduleEventSpec("tick", "rate(1 minute)"), clock=clock, start=True, poll_interval_s=0.01
    )

    # When
    clock.now = utc("2024-03-10T10:01:00")
    deadline = time.monotonic() + 10
    while not invoker.calls_to("Job") and time.monotonic() < deadline:
        time.sleep(0.01)

    # Then
    assert [event["time"] for event in invoker.calls_to("Job")] == ["2024-03-10T10:01:00Z"]


@pytest.mark.parametrize(
    ("schedule", "error", "message"),
    [
        (ScheduleEventSpec("bad", "rate(1 minutes)"), ScheduleExpressionError, "Job schedule bad"),
        (ScheduleEventSpec("bad-input", "rate(1 minute)", input="{not json"), ValueError, "Input is not JSON"),
    ],
)
def test_invalid_schedule_of_the_stack_is_reported_with_its_function(
    schedule: ScheduleEventSpec, error: type[Exception], message: str
) -> None:
    # Given
    stack = stack_of(function_spec("Job", schedule_events=(schedule,)))
    kwargs: dict[str, Any] = {"clock": Clock(utc("2024-03-10T10:00:00"))}

    # When / Then
    with pytest.raises(error, match=message):
        Scheduler(stack, InProcessInvoker({}), **kwargs)
