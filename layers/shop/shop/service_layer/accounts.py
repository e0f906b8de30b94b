"""Registration, login and the caller's profile."""

from __future__ import annotations

import math

from shop.adapters.passwords import PasswordHasher
from shop.domain.clock import Clock, isoformat
from shop.domain.ids import new_ulid
from shop.domain.jobs import SendEmail
from shop.domain.models import AccessToken, Credential, LoginRequest, RegisterRequest, User
from shop.errors import NotFound, Throttled, Unauthenticated, Unavailable
from shop.observability import logger, metrics
from shop.service_layer.ports import (
    AttemptAdmitted,
    AttemptKey,
    AttemptRefused,
    JobQueue,
    LoginAttempts,
    LoginBackoff,
    LoginFailureLimit,
    UserRepository,
)
from shop.service_layer.tokens import TokenService

DEFAULT_ROLES = ("customer",)
_BAD_LOGIN = "the email or password is wrong"


class AccountService:
    """Creates accounts and reads them back."""

    def __init__(self, users: UserRepository, hasher: PasswordHasher, clock: Clock) -> None:
        self._users = users
        self._hasher = hasher
        self._clock = clock

    def register(self, request: RegisterRequest) -> User:
        now = self._clock.now()
        user = User(
            id=new_ulid(now), email=request.email, name=request.name, roles=DEFAULT_ROLES, created_at=isoformat(now)
        )
        credential = Credential(
            user_id=user.id, email=user.email, password_hash=self._hasher.hash(request.password), roles=user.roles
        )
        self._users.add(user, credential)
        return user

    def profile(self, user_id: str) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise NotFound("the account no longer exists")
        return user


class RegistrationService:
    """Creates an account, then queues its welcome email."""

    def __init__(self, accounts: AccountService, notifications: JobQueue) -> None:
        self._accounts = accounts
        self._notifications = notifications

    def register(self, request: RegisterRequest, *, correlation_id: str) -> User:
        user = self._accounts.register(request)
        try:
            self._notifications.send(SendEmail(kind="welcome", user_id=user.id, correlation_id=correlation_id))
        except Unavailable:
            # The account exists: failing the request now would only make the client's retry a
            # 409. A missed welcome email is the lesser loss; the metric makes it visible.
            logger.exception("welcome email not queued", extra={"user_id": user.id})
            metrics.add_metric(name="WelcomeEmailDeferred", unit="Count", value=1)
        return user


class LoginService:
    """Exchanges an email and password for an access token, within the login limits.

    Two limits, so that an attacker cannot turn either against the owner (OWASP's Authentication
    Cheat Sheet warns that a lockout must not become a denial of service):
    - the lock counts failures per email *and source address*: `limit.failures` in its window
      and that address may not try that email again until the window ends. Guessing from one
      address stops there, and the owner, from their own address, is not locked out;
    - the pace counts failures per email from every address, as OWASP advises (a counter on the
      account, so that many addresses gain nothing): past `backoff.free_failures` in its window
      each attempt must wait for a delay that doubles up to `backoff.max_delay_seconds`. It slows
      a distributed attacker to one guess per delay and never locks anyone out for longer.
    """

    def __init__(
        self,
        users: UserRepository,
        hasher: PasswordHasher,
        tokens: TokenService,
        attempts: LoginAttempts,
        *,
        limit: LoginFailureLimit,
        backoff: LoginBackoff,
        clock: Clock,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._attempts = attempts
        self._limit = limit
        self._backoff = backoff
        self._clock = clock

    def login(self, request: LoginRequest, *, source: str) -> AccessToken:
        now = self._clock.now()
        # Counted before the password is checked: concurrent guesses cannot slip past the limits,
        # and a refused attempt costs no hash verification. Unknown emails are counted alike, so
        # neither the 401 nor the 429 tells whether an account exists.
        lock = self._attempts.admit(AttemptKey(request.email, source), now, self._limit)
        if isinstance(lock, AttemptRefused):
            raise _throttled("too many failed logins for this account from this address", lock, now.timestamp())
        pace = self._attempts.admit_paced(request.email, now, self._backoff)
        if isinstance(pace, AttemptRefused):
            # No password was checked, so this is no failure of this address: counting it would
            # let the pace, which an attacker sets, fill the owner's own lock.
            self._forgive(lock)
            raise _throttled("too many failed logins for this account", pace, now.timestamp())
        credential = self._users.credential_for(request.email)
        if credential is None:
            self._hasher.verify_dummy(request.password)
            raise Unauthenticated(_BAD_LOGIN)
        if not self._hasher.verify(credential.password_hash, request.password):
            raise Unauthenticated(_BAD_LOGIN)
        # Only this attempt is taken back: an attacker's failures stay counted after the owner logs in.
        self._forgive(lock)
        self._forgive(pace)
        if self._hasher.needs_rehash(credential.password_hash):
            self._users.replace_password_hash(credential, self._hasher.hash(request.password))
        return self._tokens.issue(credential.user_id, credential.roles)

    def _forgive(self, admission: AttemptAdmitted) -> None:
        try:
            self._attempts.forgive(admission)
        except Unavailable:
            # Failing the request for this would punish the owner for our store: the attempt stays
            # counted as a failure until its window ends, and the metric shows it.
            logger.exception("login attempt not forgiven")
            metrics.add_metric(name="LoginAttemptNotForgiven", unit="Count", value=1)


def _throttled(reason: str, refusal: AttemptRefused, now: float) -> Throttled:
    retry_after = max(1, math.ceil(refusal.reopens_at - now))
    return Throttled(f"{reason}; retry in {retry_after} seconds", retry_after)
