"""Registering creates the account, then queues its welcome email."""

from __future__ import annotations

from shop.adapters.passwords import PasswordHasher
from shop.domain.jobs import SendEmail
from shop.domain.models import RegisterRequest
from shop.service_layer.accounts import AccountService, RegistrationService
from tests.unit.fakes import FixedClock, InMemoryUsers, RecordingQueue

REQUEST = RegisterRequest(email="ada@example.com", password="correct horse battery staple", name="Ada")


def make_registration(users: InMemoryUsers, queue: RecordingQueue) -> RegistrationService:
    return RegistrationService(AccountService(users, PasswordHasher(), FixedClock()), queue)


def test_registering_queues_one_welcome_email_for_the_new_user() -> None:
    users, queue = InMemoryUsers(), RecordingQueue()

    user = make_registration(users, queue).register(REQUEST, correlation_id="req-1")

    assert queue.jobs == [SendEmail(kind="welcome", user_id=user.id, correlation_id="req-1")]


def test_the_account_is_created_even_when_the_welcome_email_cannot_be_queued() -> None:
    users, queue = InMemoryUsers(), RecordingQueue()
    queue.down = True

    user = make_registration(users, queue).register(REQUEST, correlation_id="req-1")

    assert users.get(user.id) == user
    assert queue.jobs == []
