from __future__ import annotations

import pytest

from shop.adapters.passwords import PasswordHasher
from shop.adapters.signing_keys import StaticSigningKey
from shop.domain.models import LoginRequest, RegisterRequest
from shop.errors import Conflict, NotFound, Unauthenticated
from shop.service_layer.accounts import AccountService, LoginService
from shop.service_layer.ports import LoginBackoff, LoginFailureLimit
from shop.service_layer.tokens import TokenService
from tests.unit.fakes import FixedClock, InMemoryLoginAttempts, InMemoryUsers

PASSWORD = "correct horse battery staple"
SOURCE = "198.51.100.7"


class CountingHasher(PasswordHasher):
    """The real argon2 hasher at test-speed parameters, counting verifications."""

    def __init__(self, memory_cost: int = 1024, time_cost: int = 1) -> None:
        super().__init__(memory_cost=memory_cost, time_cost=time_cost)
        self.verifications = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


@pytest.fixture
def users() -> InMemoryUsers:
    return InMemoryUsers()


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(
        StaticSigningKey(b"k" * 32), issuer="shop-api", audience="clients", ttl_seconds=900, clock=FixedClock()
    )


def login_service(users: InMemoryUsers, hasher: PasswordHasher, tokens: TokenService) -> LoginService:
    return LoginService(
        users,
        hasher,
        tokens,
        InMemoryLoginAttempts(),
        limit=LoginFailureLimit(5, 900),
        backoff=LoginBackoff(20, 86400, 300),
        clock=FixedClock(),
    )


def register(users: InMemoryUsers, email: str = "Ada@Example.com", hasher: PasswordHasher | None = None) -> str:
    service = AccountService(users, hasher or CountingHasher(), FixedClock())
    return service.register(RegisterRequest(email=email, password=PASSWORD, name="Ada")).id


def test_registration_stores_a_normalised_email_and_a_hash_not_the_password(users: InMemoryUsers) -> None:
    user_id = register(users)

    credential = users.credential_for("ada@example.com")
    assert credential is not None and credential.user_id == user_id
    assert credential.password_hash.startswith("$argon2id$")
    assert PASSWORD not in credential.password_hash
    assert users.users[user_id].roles == ("customer",)


def test_a_second_registration_with_the_same_email_in_other_case_conflicts(users: InMemoryUsers) -> None:
    register(users, "ada@example.com")

    with pytest.raises(Conflict):
        register(users, "ADA@example.com")


def test_login_returns_a_token_for_the_user(users: InMemoryUsers, tokens: TokenService) -> None:
    user_id = register(users)
    logins = login_service(users, CountingHasher(), tokens)

    token = logins.login(LoginRequest(email="ada@example.com", password=PASSWORD), source=SOURCE)

    assert token.token_type == "Bearer" and token.expires_in == 900
    assert tokens.verify(token.access_token).user_id == user_id


def test_unknown_email_and_wrong_password_fail_alike_and_both_verify_a_hash(
    users: InMemoryUsers, tokens: TokenService
) -> None:
    register(users)
    hasher = CountingHasher()
    logins = login_service(users, hasher, tokens)

    with pytest.raises(Unauthenticated) as unknown:
        logins.login(LoginRequest(email="nobody@example.com", password=PASSWORD), source=SOURCE)
    with pytest.raises(Unauthenticated) as wrong:
        logins.login(LoginRequest(email="ada@example.com", password="not the password"), source=SOURCE)

    assert unknown.value.detail == wrong.value.detail
    assert hasher.verifications == 2


def test_login_rehashes_a_password_stored_with_weaker_parameters(users: InMemoryUsers, tokens: TokenService) -> None:
    register(users, hasher=CountingHasher(memory_cost=1024, time_cost=1))
    old_hash = users.credentials["ada@example.com"].password_hash

    login_service(users, CountingHasher(memory_cost=2048, time_cost=2), tokens).login(
        LoginRequest(email="ada@example.com", password=PASSWORD), source=SOURCE
    )

    new_hash = users.credentials["ada@example.com"].password_hash
    assert new_hash != old_hash and "m=2048,t=2" in new_hash


def test_profile_of_a_missing_user_is_not_found(users: InMemoryUsers) -> None:
    with pytest.raises(NotFound):
        AccountService(users, CountingHasher(), FixedClock()).profile("nobody")


def test_production_hasher_meets_the_owasp_baseline() -> None:
    stored = PasswordHasher().hash(PASSWORD)

    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
