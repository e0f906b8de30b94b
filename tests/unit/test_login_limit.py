"""The login limits, with in-memory fakes of the ports: the lock per email and address, the pace per email."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shop.adapters.passwords import PasswordHasher
from shop.adapters.signing_keys import StaticSigningKey
from shop.domain.models import AccessToken, LoginRequest, RegisterRequest
from shop.errors import Throttled, Unauthenticated
from shop.service_layer.accounts import AccountService, LoginService
from shop.service_layer.ports import AttemptKey, LoginBackoff, LoginFailureLimit
from shop.service_layer.tokens import TokenService
from tests.unit.fakes import FixedClock, InMemoryLoginAttempts, InMemoryUsers

PASSWORD = "correct horse battery staple"
EMAIL = "ada@example.com"
OWNER_ADDRESS = "198.51.100.7"
ATTACKER_ADDRESS = "203.0.113.66"
LIMIT = LoginFailureLimit(failures=5, window_seconds=900)
BACKOFF = LoginBackoff(free_failures=20, window_seconds=86400, max_delay_seconds=300)


class CountingHasher(PasswordHasher):
    """The real argon2 hasher at test-speed parameters, counting every verification."""

    def __init__(self) -> None:
        super().__init__(memory_cost=1024, time_cost=1)
        self.verifications = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


class Shop:
    """One account store and its login service, sharing a clock the test moves."""

    def __init__(self) -> None:
        self.clock = FixedClock()
        self.users = InMemoryUsers()
        self.attempts = InMemoryLoginAttempts()
        self.hasher = CountingHasher()
        tokens = TokenService(
            StaticSigningKey(b"k" * 32), issuer="shop-api", audience="clients", ttl_seconds=900, clock=self.clock
        )
        self.logins = LoginService(
            self.users, self.hasher, tokens, self.attempts, limit=LIMIT, backoff=BACKOFF, clock=self.clock
        )
        AccountService(self.users, self.hasher, self.clock).register(
            RegisterRequest(email=EMAIL, password=PASSWORD, name="Ada")
        )

    def login(self, password: str = PASSWORD, email: str = EMAIL, source: str = OWNER_ADDRESS) -> AccessToken:
        return self.logins.login(LoginRequest(email=email, password=password), source=source)

    def fail(self, times: int, email: str = EMAIL, source: str = OWNER_ADDRESS) -> None:
        for _ in range(times):
            with pytest.raises(Unauthenticated):
                self.login("not the password", email, source)

    def fail_from_many_addresses(self, times: int) -> None:
        """A distributed guesser: every failure from a new address, so no lock ever fills."""
        for n in range(times):
            self.clock.advance(BACKOFF.max_delay_seconds)
            with pytest.raises(Unauthenticated):
                self.login("not the password", source=f"192.0.2.{n}")


@pytest.fixture
def make_shop() -> Callable[[], Shop]:
    return Shop


def test_after_five_failures_even_the_right_password_is_throttled_until_the_window_ends(
    make_shop: Callable[[], Shop],
) -> None:
    shop = make_shop()
    shop.fail(5)
    shop.clock.advance(60)

    with pytest.raises(Throttled) as throttled:
        shop.login()

    assert throttled.value.retry_after == 900 - 60
    assert "too many failed logins" in throttled.value.detail


def test_the_window_ending_lets_the_owner_in_again(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail(5)
    shop.clock.advance(900)

    token = shop.login()

    assert token.access_token


def test_a_refused_attempt_verifies_no_password(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail(5)
    verified_before = shop.hasher.verifications

    with pytest.raises(Throttled):
        shop.login("a sixth guess")

    assert shop.hasher.verifications == verified_before


def test_unknown_emails_are_limited_exactly_like_known_ones(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()

    shop.fail(5, email="nobody@example.com")
    with pytest.raises(Throttled) as unknown:
        shop.login(email="nobody@example.com")
    shop.fail(5)
    with pytest.raises(Throttled) as known:
        shop.login()

    assert unknown.value.detail == known.value.detail
    assert unknown.value.retry_after == known.value.retry_after


def test_the_owners_success_does_not_reset_an_attackers_failures(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail(4)

    shop.login()
    shop.fail(1)

    with pytest.raises(Throttled):
        shop.login()


def test_successful_logins_never_fill_the_window(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()

    tokens = [shop.login() for _ in range(LIMIT.failures * 3)]

    assert len(tokens) == 15
    assert shop.attempts.counts[AttemptKey(EMAIL, OWNER_ADDRESS)][1] == 0
    assert shop.attempts.counts[AttemptKey(EMAIL)][1] == 0


def test_failures_of_one_email_do_not_throttle_another(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail(5, email="mallory@example.com")

    token = shop.login()

    assert token.access_token


def test_retry_after_counts_down_and_never_reaches_zero(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail(5)
    shop.clock.advance(899.5)

    with pytest.raises(Throttled) as throttled:
        shop.login()

    assert throttled.value.retry_after == 1


def test_a_store_outage_when_forgiving_still_logs_the_owner_in(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.attempts.down = True

    token = shop.login()

    assert token.access_token
    assert shop.attempts.counts[AttemptKey(EMAIL, OWNER_ADDRESS)][1] == 1


def test_a_lockout_from_another_address_does_not_lock_the_owner_out(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail(5, source=ATTACKER_ADDRESS)

    with pytest.raises(Throttled) as attacker:
        shop.login(source=ATTACKER_ADDRESS)
    token = shop.login(source=OWNER_ADDRESS)

    assert "from this address" in attacker.value.detail
    assert token.access_token


def test_past_the_free_failures_each_attempt_waits_a_doubling_delay(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    for n in range(BACKOFF.free_failures):
        shop.fail(1, source=f"192.0.2.{n}")
    waits = []
    for n in range(4):
        with pytest.raises(Throttled) as paced:
            shop.login(source=f"198.18.0.{n}")
        waits.append(paced.value.retry_after)
        shop.clock.advance(paced.value.retry_after)
        shop.fail(1, source=f"198.18.0.{n}")

    assert waits == [1, 2, 4, 8]
    assert "from this address" not in paced.value.detail


def test_the_pace_never_holds_anyone_back_longer_than_its_maximum(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail_from_many_addresses(BACKOFF.free_failures + 40)

    with pytest.raises(Throttled) as paced:
        shop.login()
    shop.clock.advance(paced.value.retry_after)
    token = shop.login()

    assert paced.value.retry_after == BACKOFF.max_delay_seconds
    assert token.access_token


def test_attempts_the_pace_refuses_do_not_fill_the_owners_lock(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail_from_many_addresses(BACKOFF.free_failures + 10)

    for _ in range(LIMIT.failures * 2):
        with pytest.raises(Throttled):
            shop.login()
        shop.clock.advance(1)
    shop.clock.advance(BACKOFF.max_delay_seconds)

    assert shop.login().access_token


def test_a_new_pace_window_starts_with_free_failures_again(make_shop: Callable[[], Shop]) -> None:
    shop = make_shop()
    shop.fail_from_many_addresses(BACKOFF.free_failures + 5)
    shop.clock.advance(BACKOFF.window_seconds)

    shop.fail(LIMIT.failures - 1)

    assert shop.login().access_token


def test_the_delay_doubles_from_one_second_up_to_the_maximum() -> None:
    delays = [BACKOFF.delay_after(attempts) for attempts in (1, 19, 20, 21, 22, 28, 29, 10_000)]

    assert delays == [0, 0, 1, 2, 4, 256, 300, 300]
