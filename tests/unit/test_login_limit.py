"""The per-email login failure limit, with in-memory fakes of the ports."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shop.adapters.passwords import PasswordHasher
from shop.adapters.signing_keys import StaticSigningKey
from shop.domain.models import AccessToken, LoginRequest, RegisterRequest
from shop.errors import Throttled, Unauthenticated
from shop.service_layer.accounts import AccountService, LoginService
from shop.service_layer.ports import LoginFailureLimit
from shop.service_layer.tokens import TokenService
from tests.unit.fakes import FixedClock, InMemoryLoginAttempts, InMemoryUsers

PASSWORD = "correct horse battery staple"
EMAIL = "ada@example.com"
LIMIT = LoginFailureLimit(failures=5, window_seconds=900)


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
        self.logins = LoginService(self.users, self.hasher, tokens, self.attempts, limit=LIMIT, clock=self.clock)
        AccountService(self.users, self.hasher, self.clock).register(
            RegisterRequest(email=EMAIL, password=PASSWORD, name="Ada")
        )

    def login(self, password: str = PASSWORD, email: str = EMAIL) -> AccessToken:
        return self.logins.login(LoginRequest(email=email, password=password))

    def fail(self, times: int, email: str = EMAIL) -> None:
        for _ in range(times):
            with pytest.raises(Unauthenticated):
                self.login("not the password", email)


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
    assert shop.attempts.counts[EMAIL][1] == 0


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
    assert shop.attempts.counts[EMAIL][1] == 1
