"""Every route handler, in-process, against moto with the template's own table and queues."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.events import api_event, json_body, load_event

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
PASSWORD = "correct horse battery staple"
ORDER = json.loads(load_event("create_order")["body"])


def register(invoke: Invoke, email: str = "ada@example.com") -> dict[str, Any]:
    response = invoke("register", api_event("register", body={"email": email, "password": PASSWORD, "name": "Ada"}))
    assert response["statusCode"] == 201, response["body"]
    user: dict[str, Any] = json_body(response)
    return user


def login(invoke: Invoke, email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
    return invoke("login", api_event("login", body={"email": email, "password": password}))


def place(invoke: Invoke, user_id: str, body: dict[str, Any] | None = None, key: str | None = None) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    event = api_event("create_order", user_id=user_id, body=body or ORDER, headers=headers)
    if not key:
        event["headers"].pop("Idempotency-Key", None)
    return invoke("create_order", event)


def queued_jobs(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_register_answers_201_with_the_user_and_never_the_password(invoke: Invoke) -> None:
    response = invoke("register", api_event("register"))

    user = json_body(response)
    assert response["statusCode"] == 201
    assert user["email"] == "ada@example.com" and user["roles"] == ["customer"]
    assert "password" not in response["body"] and "argon2" not in response["body"]


def test_registering_a_taken_email_is_a_409_problem(invoke: Invoke) -> None:
    register(invoke)

    response = invoke("register", api_event("register"))

    assert response["statusCode"] == 409
    assert response["headers"]["Content-Type"] == "application/problem+json"


@pytest.mark.usefixtures("atomic_moto_writes")
def test_concurrent_registrations_of_one_email_make_one_user(invoke: Invoke, dynamodb: Any, function_env: Any) -> None:
    event = api_event("register")
    # Import the handler before the threads start, as a warm function would be.
    register(invoke, "warm@example.com")

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: invoke("register", event)["statusCode"], range(8)))

    users = dynamodb.get_item(
        TableName=function_env["TABLE_NAME"], Key={"pk": {"S": "EMAIL#ada@example.com"}, "sk": {"S": "CREDENTIAL"}}
    )
    assert statuses == [201] + [409] * 7
    assert "Item" in users


def test_login_returns_a_bearer_token_that_the_authorizer_accepts(invoke: Invoke) -> None:
    user = register(invoke)

    response = login(invoke)
    token = json_body(response)
    policy = invoke("authorizer", load_event("authorizer") | {"authorizationToken": f"Bearer {token['access_token']}"})

    assert response["statusCode"] == 200 and token["token_type"] == "Bearer" and token["expires_in"] <= 3600
    assert response["headers"]["Cache-Control"] == "no-store"
    assert policy["principalId"] == user["id"]
    assert policy["context"]["user_id"] == user["id"]
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_unknown_email_and_wrong_password_get_the_same_401(invoke: Invoke) -> None:
    register(invoke)

    wrong = login(invoke, password="definitely not it")
    unknown = login(invoke, email="nobody@example.com")

    assert wrong["statusCode"] == unknown["statusCode"] == 401
    assert json_body(wrong)["detail"] == json_body(unknown)["detail"]


@pytest.mark.parametrize("header", ["Bearer garbage.token.here", "Basic YWRhOnB3", "", "Bearer " + "a" * 5000])
def test_the_authorizer_answers_unauthorized_for_bad_tokens(invoke: Invoke, header: str) -> None:
    with pytest.raises(Exception, match="^Unauthorized$"):
        invoke("authorizer", load_event("authorizer") | {"authorizationToken": header})


def test_me_returns_the_callers_account(invoke: Invoke) -> None:
    user = register(invoke)

    response = invoke("me", api_event("me", user_id=user["id"]))

    assert response["statusCode"] == 200 and json_body(response)["id"] == user["id"]


def test_placing_an_order_stores_it_and_enqueues_one_versioned_payment_job(
    invoke: Invoke, sqs: Any, function_env: dict[str, str]
) -> None:
    user = register(invoke)

    response = place(invoke, user["id"])

    order = json_body(response)
    jobs = queued_jobs(sqs, function_env["PAYMENTS_QUEUE_URL"])
    assert response["statusCode"] == 201
    assert order["status"] == "pending_payment" and order["total"] == 2 * 1250 + 300 and order["currency"] == "EUR"
    assert response["headers"]["Location"] == f"/orders/{order['id']}"
    assert jobs == [
        {
            "version": 1,
            "type": "charge_order",
            "order_id": order["id"],
            "user_id": user["id"],
            "correlation_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        }
    ]


def test_a_retried_post_with_the_same_key_makes_one_order_and_one_job(
    invoke: Invoke, sqs: Any, function_env: dict[str, str]
) -> None:
    user = register(invoke)

    first = place(invoke, user["id"], key="retry-me")
    second = place(invoke, user["id"], key="retry-me")

    listed = json_body(invoke("list_orders", api_event("list_orders", user_id=user["id"], query={})))
    assert first["statusCode"] == second["statusCode"] == 201
    assert json_body(first)["id"] == json_body(second)["id"]
    assert second["headers"]["Idempotent-Replayed"] == "true"
    assert len(listed["items"]) == 1
    assert len(queued_jobs(sqs, function_env["PAYMENTS_QUEUE_URL"])) == 1


def test_the_same_key_with_another_body_is_refused_and_makes_no_order(invoke: Invoke) -> None:
    user = register(invoke)
    place(invoke, user["id"], key="k1")

    other = place(invoke, user["id"], body=ORDER | {"currency": "USD"}, key="k1")

    listed = json_body(invoke("list_orders", api_event("list_orders", user_id=user["id"], query={})))
    assert other["statusCode"] == 422
    assert len(listed["items"]) == 1


def test_an_order_is_visible_to_its_owner_and_404_to_anyone_else(invoke: Invoke) -> None:
    owner = register(invoke)
    stranger = register(invoke, "eve@example.com")
    order_id = json_body(place(invoke, owner["id"]))["id"]

    mine = invoke("get_order", api_event("get_order", user_id=owner["id"], path_parameters={"order_id": order_id}))
    theirs = invoke("get_order", api_event("get_order", user_id=stranger["id"], path_parameters={"order_id": order_id}))
    missing = invoke("get_order", api_event("get_order", user_id=owner["id"], path_parameters={"order_id": "01NOPE"}))

    assert mine["statusCode"] == 200 and json_body(mine)["id"] == order_id
    assert theirs["statusCode"] == missing["statusCode"] == 404
    assert json_body(theirs)["detail"].replace(order_id, "X") == json_body(missing)["detail"].replace("01NOPE", "X")


def test_listing_pages_newest_first_with_a_signed_cursor(invoke: Invoke) -> None:
    user = register(invoke)
    ids = [json_body(place(invoke, user["id"]))["id"] for _ in range(5)]

    seen: list[str] = []
    query: dict[str, str] = {"limit": "2"}
    for _ in range(5):
        page = json_body(invoke("list_orders", api_event("list_orders", user_id=user["id"], query=query)))
        seen += [order["id"] for order in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": "2", "cursor": page["next_cursor"]}

    assert seen == list(reversed(ids))


def test_status_filter_uses_the_status_index(invoke: Invoke) -> None:
    user = register(invoke)
    place(invoke, user["id"])

    pending = invoke("list_orders", api_event("list_orders", user_id=user["id"], query={"status": "pending_payment"}))
    paid = invoke("list_orders", api_event("list_orders", user_id=user["id"], query={"status": "paid"}))

    assert len(json_body(pending)["items"]) == 1
    assert json_body(paid)["items"] == []


def test_a_tampered_cursor_or_another_users_cursor_is_a_400(invoke: Invoke) -> None:
    alice = register(invoke)
    eve = register(invoke, "eve@example.com")
    for _ in range(2):
        place(invoke, alice["id"])
    cursor = json_body(invoke("list_orders", api_event("list_orders", user_id=alice["id"], query={"limit": "1"})))[
        "next_cursor"
    ]

    stolen = invoke("list_orders", api_event("list_orders", user_id=eve["id"], query={"cursor": cursor}))
    tampered = invoke(
        "list_orders", api_event("list_orders", user_id=alice["id"], query={"cursor": cursor[:-3] + "abc"})
    )

    assert stolen["statusCode"] == tampered["statusCode"] == 400


def test_bad_list_parameters_are_a_422(invoke: Invoke) -> None:
    response = invoke("list_orders", api_event("list_orders", user_id="u1", query={"limit": "1000", "status": "lost"}))

    locations = {error["location"] for error in json_body(response)["errors"]}
    assert response["statusCode"] == 422 and locations == {"query.limit", "query.status"}


def test_malformed_json_is_400_and_schema_violations_422_naming_fields(invoke: Invoke) -> None:
    malformed = invoke("create_order", api_event("create_order", user_id="u1", raw_body="{not json"))
    invalid = invoke("create_order", api_event("create_order", user_id="u1", body={"items": [], "currency": "EUR"}))

    locations = {error["location"] for error in json_body(invalid)["errors"]}
    assert malformed["statusCode"] == 400
    assert invalid["statusCode"] == 422 and locations == {"body.items", "body.payment_method"}


def test_health_is_ok_and_ready_checks_every_dependency(invoke: Invoke) -> None:
    health = invoke("health", api_event("health"))
    ready = invoke("ready", api_event("ready"))

    assert json_body(health) == {"status": "ok"}
    assert ready["statusCode"] == 200
    assert json_body(ready) == {
        "status": "ready",
        "checks": {"dynamodb": "ok", "sqs:payments": "ok", "sqs:notifications": "ok"},
    }


def test_ready_is_503_naming_the_failing_dependency(invoke: Invoke, sqs: Any, function_env: dict[str, str]) -> None:
    sqs.delete_queue(QueueUrl=function_env["NOTIFICATIONS_QUEUE_URL"])

    ready = invoke("ready", api_event("ready"))

    checks = json_body(ready)["checks"]
    assert ready["statusCode"] == 503
    assert checks["sqs:notifications"].startswith("failed") and checks["dynamodb"] == "ok"


def test_the_openapi_document_and_the_docs_page_are_served(invoke: Invoke) -> None:
    document = invoke("docs", api_event("openapi"))
    page = invoke("docs", api_event("docs"))

    assert json_body(document)["paths"]["/orders"]["post"]["operationId"] == "createOrder"
    assert json_body(document)["servers"] == [{"url": "/dev"}]
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert "script-src 'self';" in page["headers"]["Content-Security-Policy"]
    assert '<script src="docs/swagger-ui-bundle.js"></script>' in page["body"]


@pytest.mark.parametrize(
    ("path", "media_type", "content"),
    [
        ("/docs/swagger-ui.css", "text/css", ".swagger-ui"),
        ("/docs/swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"),
        ("/docs/swagger-initializer.js", "text/javascript", 'url: "openapi.json"'),
    ],
)
def test_swagger_ui_files_are_served_by_the_docs_function_itself(
    invoke: Invoke, path: str, media_type: str, content: str
) -> None:
    # Given the docs page's request for one of its files
    event = api_event("docs")
    event["resource"] = event["path"] = event["requestContext"]["resourcePath"] = path

    # When the docs function answers it
    answer = invoke("docs", event)

    # Then the file comes from the installed swagger-ui-bundle package, not from a CDN
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == f"{media_type}; charset=utf-8"
    assert content in answer["body"]
