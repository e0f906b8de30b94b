"""The API's edges over HTTP, against `localcloud up`: the findings of the adversarial review, each shown fixed.

Another source address is a real one: Linux routes all of 127.0.0.0/8 to the loopback
interface, so a client bound to 127.0.0.2 reaches the gateway on 127.0.0.1 from another address.
"""

from __future__ import annotations

import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from localcloud.emulator import emulator_session
from localcloud.operations import DEFAULT_REGION
from tests.support.cloud import RunningCloud

PASSWORD = "correct horse battery staple"
ORDER = {
    "items": [{"sku": "BOOK-1", "quantity": 2}],
    "currency": "EUR",
    "payment_method": "pm_card_visa",
}
MULTIPART = '--b\r\nContent-Disposition: form-data; name="email"\r\n\r\nx\r\n--b--\r\n'


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def send(
    cloud: RunningCloud,
    method: str,
    path: str,
    body: str | None = None,
    *,
    content_type: str | None = "application/json",
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request with its body exactly as given, from the source address given."""
    address = urlsplit(cloud.api)
    connection = http.client.HTTPConnection(
        address.hostname or "127.0.0.1", address.port, timeout=60, source_address=(source, 0)
    )
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    try:
        connection.request(method, path, body=None if body is None else body.encode(), headers=sent)
        response = connection.getresponse()
        raw = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    decoded = json.loads(raw) if "json" in answer_headers.get("content-type", "") and raw else raw.decode()
    return Answer(response.status, answer_headers, decoded)


def register(cloud: RunningCloud) -> str:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    answer = send(cloud, "POST", "/auth/register", json.dumps({"email": email, "password": PASSWORD, "name": "Ada"}))
    assert answer.status == 201, answer.body
    return email


def bearer(cloud: RunningCloud, email: str) -> dict[str, str]:
    answer = send(cloud, "POST", "/auth/login", json.dumps({"email": email, "password": PASSWORD}))
    assert answer.status == 200, answer.body
    return {"Authorization": f"Bearer {answer.body['access_token']}"}


def assert_problem(answer: Answer, status: int) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.body
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize("path", ["/orders", "/auth/login"])
@pytest.mark.parametrize("opening", ["[", '{"a":'], ids=["arrays", "objects"])
def test_ten_thousand_nested_levels_are_a_400_not_a_500(cloud: RunningCloud, path: str, opening: str) -> None:
    headers = bearer(cloud, register(cloud)) if path == "/orders" else {}

    answer = send(cloud, "POST", path, opening * 10_000, headers=headers)

    assert "deeper than 32 levels" in assert_problem(answer, 400)["detail"]


def test_a_five_thousand_digit_quantity_is_a_422_naming_the_field(cloud: RunningCloud) -> None:
    headers = bearer(cloud, register(cloud))
    body = json.dumps(ORDER).replace('"quantity": 2', '"quantity": ' + "5" * 5000)

    answer = send(cloud, "POST", "/orders", body, headers=headers)

    problem = assert_problem(answer, 422)
    assert [error["location"] for error in problem["errors"]] == ["body.items.0.quantity"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps({"email": "x@example.com", "password": PASSWORD, "name": "X"})),
        ("application/x-www-form-urlencoded", "email=x%40example.com&password=correct+horse+battery+staple&name=X"),
        ("multipart/form-data; boundary=b", MULTIPART),
        ("application/xml", "<user><email>x@example.com</email></user>"),
        (None, json.dumps({"email": "x@example.com", "password": PASSWORD, "name": "X"})),
    ],
    ids=["text", "form", "multipart", "xml", "none"],
)
def test_bodies_that_are_not_application_json_get_a_415_problem(
    cloud: RunningCloud, content_type: str | None, body: str
) -> None:
    answer = send(cloud, "POST", "/auth/register", body, content_type=content_type)

    assert assert_problem(answer, 415)["title"] == "Unsupported media type"


def test_a_duplicate_key_is_a_400_problem(cloud: RunningCloud) -> None:
    headers = bearer(cloud, register(cloud))
    body = json.dumps(ORDER).replace('"currency": "EUR"', '"currency": "EUR", "currency": "GBP"')

    answer = send(cloud, "POST", "/orders", body, headers=headers)

    assert assert_problem(answer, 400)["detail"] == 'the request body repeats the key "currency"'


def test_the_served_document_lists_the_415_of_every_route_with_a_body(cloud: RunningCloud) -> None:
    document = send(cloud, "GET", "/openapi.json", content_type=None).body

    with_a_body = [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert {(path, method) for path, method, _ in with_a_body} >= {("/orders", "post"), ("/auth/login", "post")}
    for _, _, operation in with_a_body:
        assert {"400", "413", "415", "422"} <= operation["responses"].keys()


def test_a_lockout_from_another_address_does_not_lock_the_owner_out(cloud: RunningCloud) -> None:
    email = register(cloud)
    guesses = [
        send(cloud, "POST", "/auth/login", json.dumps({"email": email, "password": f"guess {n}"}), source="127.0.0.2")
        for n in range(5)
    ]

    attacker = send(
        cloud, "POST", "/auth/login", json.dumps({"email": email, "password": PASSWORD}), source="127.0.0.2"
    )
    owner = send(cloud, "POST", "/auth/login", json.dumps({"email": email, "password": PASSWORD}))

    assert [answer.status for answer in guesses] == [401] * 5
    assert "from this address" in assert_problem(attacker, 429)["detail"]
    assert int(attacker.headers["retry-after"]) > 0
    assert owner.status == 200 and owner.body["access_token"]


def delete_account(cloud: RunningCloud, email: str, user_id: str) -> None:
    """What deleting an account removes, straight in the emulator: the profile and the credential."""
    dynamodb = emulator_session(DEFAULT_REGION).client("dynamodb", endpoint_url=cloud.aws)
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if name.startswith("shop-e2e")]
    for key in ({"pk": f"USER#{user_id}", "sk": "PROFILE"}, {"pk": f"EMAIL#{email}", "sk": "CREDENTIAL"}):
        dynamodb.delete_item(TableName=table, Key={name: {"S": value} for name, value in key.items()})


@pytest.mark.parametrize("idempotency_key", [None, "gone-key"], ids=["without a key", "with an Idempotency-Key"])
def test_a_token_whose_account_no_longer_exists_places_no_order(
    cloud: RunningCloud, idempotency_key: str | None
) -> None:
    email = register(cloud)
    headers = bearer(cloud, email)
    user_id = send(cloud, "GET", "/me", content_type=None, headers=headers).body["id"]
    delete_account(cloud, email, user_id)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = f"{idempotency_key}-{uuid.uuid4()}"

    placed = send(cloud, "POST", "/orders", json.dumps(ORDER), headers=headers)
    listed = send(cloud, "GET", "/orders", content_type=None, headers=headers)

    problem = assert_problem(placed, 401)
    assert problem["detail"] == "the account this token was issued for no longer exists"
    assert listed.status == 200 and listed.body["items"] == []
