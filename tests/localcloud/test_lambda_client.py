"""The command's own Lambda client signs as the SDKs do, and the command finds the emulator where it listens."""

from __future__ import annotations

import hashlib
import urllib.request
from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud import cli, containers, emulator, lambda_client
from localcloud.containers import DOCKER_DESKTOP_HOST, ContainerAccess, container_access, interface_address


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566/2015-03-31/functions/shop-api-HealthFunction/invocations",
        "http://127.0.0.1:4566/2015-03-31/functions/?Marker=shop-api-DocsFunction",
    ],
)
def test_requests_carry_the_signature_botocore_computes(url: str) -> None:
    # Given
    body = b'{"id": 1}'
    expected = AWSRequest(
        method="POST", url=url, data=body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    )
    SigV4Auth(Credentials("localcloud", "localcloud"), "lambda", "us-east-1").add_auth(expected)
    signed_at = datetime.strptime(expected.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    request = urllib.request.Request(url, data=body, method="POST")

    # When
    lambda_client._sign(request, body, "us-east-1", signed_at)

    # Then
    assert request.get_header("Authorization") == expected.headers["Authorization"]


def test_the_command_defaults_to_the_emulators_port() -> None:
    assert cli.DEFAULT_AWS_PORT == emulator.DEFAULT_PORT


def test_an_interfaces_address_is_read_and_a_missing_interface_has_none() -> None:
    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("no-such-if0") is None


def test_a_given_host_is_both_listened_on_and_written_for_containers() -> None:
    assert container_access("10.0.5.1") == ContainerAccess(bind_address="10.0.5.1", host="10.0.5.1")


@pytest.mark.parametrize(
    ("bridge", "expected"),
    [("172.17.0.1", ContainerAccess("172.17.0.1", "172.17.0.1")), (None, ContainerAccess(None, DOCKER_DESKTOP_HOST))],
    ids=["docker-engine-on-linux", "docker-desktop"],
)
def test_containers_reach_the_docker_bridge_or_else_docker_desktops_name(
    monkeypatch: pytest.MonkeyPatch, bridge: str | None, expected: ContainerAccess
) -> None:
    # Given
    monkeypatch.setattr(containers, "interface_address", lambda name: bridge if name == "docker0" else None)

    # When
    access = container_access()

    # Then
    assert access == expected
