"""Accounts of each role on a running local cloud: registered over HTTP, the admin made by the first-admin command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from typing import Any

from tests.support.cloud import ROOT, RunningCloud

PASSWORD = "correct horse battery staple"


def post(cloud: RunningCloud, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{cloud.api}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def registered(cloud: RunningCloud, prefix: str) -> str:
    email = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
    post(cloud, "/auth/register", {"email": email, "password": PASSWORD, "name": prefix.title()})
    return email


def token_of(cloud: RunningCloud, email: str) -> str:
    token: str = post(cloud, "/auth/login", {"email": email, "password": PASSWORD})["access_token"]
    return token


def make_first_admin(cloud: RunningCloud, email: str, table_name: str) -> subprocess.CompletedProcess[str]:
    """The documented first-admin command, run against the local cloud as an operator would."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "shop"),
        "AWS_ENDPOINT_URL": cloud.aws,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    command = [sys.executable, "-m", "shop.entrypoints.first_admin", "--table-name", table_name, "--email", email]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)


def admin_token(cloud: RunningCloud, table_name: str) -> str:
    email = registered(cloud, "admin")
    promoted = make_first_admin(cloud, email, table_name)
    assert promoted.returncode == 0, promoted.stderr
    return token_of(cloud, email)


def granted(cloud: RunningCloud, admin: str, roles: list[str]) -> str:
    """A token of a new account to which `admin` granted `roles` (PUT /admin/users/{user_id}/roles)."""
    email = registered(cloud, "staff")
    me = urllib.request.Request(f"{cloud.api}/me", headers={"Authorization": f"Bearer {token_of(cloud, email)}"})
    with urllib.request.urlopen(me, timeout=60) as response:
        user_id = json.load(response)["id"]
    grant = urllib.request.Request(
        f"{cloud.api}/admin/users/{user_id}/roles",
        data=json.dumps({"roles": roles}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin}"},
    )
    with urllib.request.urlopen(grant, timeout=60) as response:
        assert json.load(response)["roles"] == roles
    # Roles travel in the token: the account's next login carries them.
    return token_of(cloud, email)
