"""Password hashing with argon2id."""

from __future__ import annotations

from functools import cached_property

from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet, argon2id with 19 MiB, 2 iterations, 1 lane: the baseline
# it recommends. Lambda bills memory and a login must stay well under a second on a 512 MB
# function, so we sit on the baseline rather than RFC 9106's 2 GiB first choice.
MEMORY_COST_KIB = 19_456
TIME_COST = 2
PARALLELISM = 1


class PasswordHasher:
    """Hashes and verifies passwords; tells when a stored hash used weaker parameters."""

    def __init__(
        self, *, memory_cost: int = MEMORY_COST_KIB, time_cost: int = TIME_COST, parallelism: int = PARALLELISM
    ) -> None:
        self._argon2 = _Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._argon2.check_needs_rehash(password_hash)

    def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so an unknown email is not faster to refuse."""
        self.verify(self._dummy_hash, password)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._argon2.hash("an unguessable placeholder that no account uses")
