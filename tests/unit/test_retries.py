"""The workers' backoff schedule: exponential from the receive count, equal jitter, capped."""

from __future__ import annotations

import pytest

from shop.domain.retries import MAX_DELAY_SECONDS, retry_delay_seconds


@pytest.mark.parametrize(
    ("receive_count", "shortest", "longest"),
    [
        (1, 8, 15),
        (2, 15, 30),
        (3, 30, 60),
        (4, 60, 120),
        (5, 120, 240),
        (6, 240, 480),
        (7, 480, 960),
        (8, 960, 1800),
        (9, 1800, 1800),
    ],
)
def test_the_delay_lies_between_half_the_ceiling_and_the_ceiling(
    receive_count: int, shortest: int, longest: int
) -> None:
    assert retry_delay_seconds(receive_count, jitter=lambda: 0.0) == shortest
    assert retry_delay_seconds(receive_count, jitter=lambda: 1.0) == longest


def test_each_retry_waits_at_least_as_long_as_the_one_before_whatever_the_jitter() -> None:
    longest_so_far = 0
    for receive_count in range(1, 12):
        assert retry_delay_seconds(receive_count, jitter=lambda: 0.0) >= longest_so_far
        longest_so_far = retry_delay_seconds(receive_count, jitter=lambda: 1.0)


def test_the_delay_never_exceeds_the_cap_however_often_a_message_came_back() -> None:
    assert retry_delay_seconds(10_000, jitter=lambda: 1.0) == MAX_DELAY_SECONDS


def test_a_missing_receive_count_is_treated_as_the_first_receive() -> None:
    assert retry_delay_seconds(0, jitter=lambda: 1.0) == retry_delay_seconds(1, jitter=lambda: 1.0)


def test_a_compressed_schedule_keeps_the_shape_from_its_own_base_up_to_its_own_cap() -> None:
    def delays(jitter: float) -> list[int]:
        return [
            retry_delay_seconds(receive_count, lambda: jitter, base_seconds=1, max_seconds=16)
            for receive_count in range(1, 9)
        ]

    assert delays(1.0) == [1, 2, 4, 8, 16, 16, 16, 16]
    assert delays(0.5) == [1, 2, 3, 6, 12, 16, 16, 16]
