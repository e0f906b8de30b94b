"""Granting and revoking roles.

Roles travel in the access token, which login issues from the credential's copy of them. A change
therefore reaches the user's next token; the current one keeps its roles until it expires, which
is at most TokenTtlSeconds (900 s by default, 3600 s at most) after login. API Gateway's 300 s
authorizer cache does not lengthen that: the routes refuse a caller past the token's `exp`
(`shop.entrypoints.http.ApiRequest.principal`).
"""

from __future__ import annotations

from shop.domain.models import Role, SetRolesRequest, User
from shop.errors import NotFound
from shop.service_layer.ports import UserRoleStore


class RoleService:
    """Replaces a user's roles; who may is the route's action (`user:roles:write`)."""

    def __init__(self, store: UserRoleStore) -> None:
        self._store = store

    def set_roles(self, user_id: str, request: SetRolesRequest) -> User:
        roles = tuple(role for role in Role if role in request.roles)
        user = self._store.set_roles(user_id, tuple(role.value for role in roles))
        if user is None:
            raise NotFound(f"user {user_id} was not found")
        return user

    def grant_by_email(self, email: str, role: Role) -> User:
        """Add one role to the account with this email (the first-admin command), keeping its others."""
        credential = self._store.credential_for(email)
        if credential is None:
            raise NotFound(f"no account has the email {email}: register it first (POST /auth/register)")
        wanted = tuple(known.value for known in Role if known.value in credential.roles or known is role)
        # Conditional on the roles just read, so a change made in between is not overwritten.
        user = self._store.set_roles(credential.user_id, wanted, expected=credential.roles)
        if user is None:
            raise NotFound(f"the account with the email {email} no longer exists")
        return user
