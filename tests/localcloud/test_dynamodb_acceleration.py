"""The indexed DynamoDB backend answers every request as unmodified moto does.

Differential, property-based: hypothesis draws sequences of puts, conditional updates, deletes,
transactions (some with failing conditions or two actions on one item), queries (the table, a sparse
GSI with a range key, a GSI without one, an LSI; both directions, Limit, ExclusiveStartKey paging,
filters, projections) and scans. Each request goes to an indexed backend (one region) and to plain
moto (another region) in process, and the answers, or the errors, must be the same.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.responses import DynamoResult

from localcloud.dynamodb_acceleration import (
    DynamoDBSerializer,
    IndexedDynamoDBBackend,
    IndexedTable,
    UnsupportedMotoVersionError,
    accelerate_backend,
    check_moto_version,
)

INDEXED_REGION = "us-east-1"
PLAIN_REGION = "eu-west-1"
PARTITIONS = ["p0", "p1", "p2"]
SORT_KEYS = ["a", "ab", "abc", "b", "ba", "c", "d"]
STATUSES = ["new", "paid", "failed"]
OWNERS = ["u1", "u2"]
AMOUNTS = ["1", "2", "2.0", "10", "-3", "7.5"]
TARGETS = [None, "ByStatus", "ByOwner", "ByAmount"]
TABLE = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": kind}
        for name, kind in (("pk", "S"), ("sk", "S"), ("status", "S"), ("created", "S"), ("owner", "S"), ("amount", "N"))
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "ByStatus",
            "KeySchema": [
                {"AttributeName": "status", "KeyType": "HASH"},
                {"AttributeName": "created", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
        },
        {
            "IndexName": "ByOwner",
            "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "ByAmount",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "amount", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
# Where each query target keeps its hash key, its range key and its range key's type.
TARGET_KEYS: dict[str | None, tuple[str, str | None, str]] = {
    None: ("pk", "sk", "S"),
    "ByStatus": ("status", "created", "S"),
    "ByOwner": ("owner", None, "S"),
    "ByAmount": ("pk", "amount", "N"),
}


def _s(values: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.sampled_from(values).map(lambda value: {"S": value})


keys = st.fixed_dictionaries({"pk": _s(PARTITIONS), "sk": _s(SORT_KEYS)})
items = st.builds(
    lambda key, extra: {**key, **extra},
    keys,
    st.fixed_dictionaries(
        {},
        optional={
            "status": _s(STATUSES),
            "created": _s(SORT_KEYS),
            "owner": _s(OWNERS),
            "amount": st.sampled_from(AMOUNTS).map(lambda value: {"N": value}),
            "note": _s(["x", "y"]),
            "size": st.integers(0, 3).map(lambda value: {"N": str(value)}),
        },
    ),
)
conditions = st.sampled_from(
    [
        None,
        ("attribute_not_exists(pk)", {}),
        ("attribute_exists(pk)", {}),
        ("#s = :s", {":s": {"S": "new"}}),
        ("amount < :a", {":a": {"N": "5"}}),
    ]
)
updates = st.sampled_from(
    [
        ("SET #s = :s, created = :c", {":s": {"S": "paid"}, ":c": {"S": "b"}}),
        ("SET #s = :s", {":s": {"S": "failed"}}),
        ("REMOVE #s", {}),
        ("SET amount = :a", {":a": {"N": "2"}}),
        ("REMOVE amount, created", {}),
        ("SET #o = :o, note = :n", {":o": {"S": "u2"}, ":n": {"S": "y"}}),
        ("REMOVE #o", {}),
    ]
)


def _expression(kind: str, expression: str, values: dict[str, Any]) -> dict[str, Any]:
    # `status` and `owner` are DynamoDB reserved words: expressions name them #s and #o.
    spelled = {"#s": "status", "#o": "owner"}
    arguments: dict[str, Any] = {kind: expression}
    names = {name: attribute for name, attribute in spelled.items() if name in expression}
    if names:
        arguments["ExpressionAttributeNames"] = names
    if values:
        arguments["ExpressionAttributeValues"] = values
    return arguments


def _conditioned(condition: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
    return {} if condition is None else _expression("ConditionExpression", *condition)


puts = st.builds(lambda item, condition: ("put_item", {"Item": item, **_conditioned(condition)}), items, conditions)
update_calls = st.builds(
    lambda key, update, condition: (
        "update_item",
        _merge({"Key": key, **_expression("UpdateExpression", *update)}, _conditioned(condition)),
    ),
    keys,
    updates,
    conditions,
)
deletes = st.builds(lambda key, condition: ("delete_item", {"Key": key, **_conditioned(condition)}), keys, conditions)


def _merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    merged = {**first, **second}
    for field in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if field in first or field in second:
            merged[field] = {**first.get(field, {}), **second.get(field, {})}
    return merged


def _action(kind: str, arguments: dict[str, Any]) -> dict[str, Any]:
    name = {"put_item": "Put", "update_item": "Update", "delete_item": "Delete"}[kind]
    return {name: arguments}


condition_checks = st.builds(
    lambda key, condition: {"ConditionCheck": {"Key": key, **_expression("ConditionExpression", *condition)}},
    keys,
    conditions.filter(lambda condition: condition is not None),
)
transactions = st.lists(
    st.one_of(st.one_of(puts, update_calls, deletes).map(lambda call: _action(*call)), condition_checks),
    min_size=1,
    max_size=4,
).map(lambda actions: ("transact_write_items", {"TransactItems": actions}))


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    target = draw(st.sampled_from(TARGETS))
    hash_attr, range_attr, range_type = TARGET_KEYS[target]
    hash_values = {"pk": PARTITIONS, "status": STATUSES, "owner": OWNERS}[hash_attr]
    expression = "#h = :h"
    names = {"#h": hash_attr}
    values: dict[str, Any] = {":h": {"S": draw(st.sampled_from(hash_values))}}
    if range_attr is not None and draw(st.booleans()):
        names["#r"] = range_attr
        pool = AMOUNTS if range_type == "N" else SORT_KEYS
        operator = draw(
            st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN"] + (["begins_with"] * (range_type == "S")))
        )
        first, second = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)), key=_order(range_type))
        values[":r1"] = {range_type: first}
        if operator == "BETWEEN":
            values[":r2"] = {range_type: second}
            expression += " AND #r BETWEEN :r1 AND :r2"
        elif operator == "begins_with":
            expression += " AND begins_with(#r, :r1)"
        else:
            expression += f" AND #r {operator} :r1"
    arguments: dict[str, Any] = {
        "KeyConditionExpression": expression,
        "ScanIndexForward": draw(st.booleans()),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if target is not None:
        arguments["IndexName"] = target
    if draw(st.booleans()):
        arguments["Limit"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        arguments["FilterExpression"] = "attribute_exists(note) OR size(sk) > :one"
        arguments["ExpressionAttributeValues"][":one"] = {"N": "1"}
    if draw(st.booleans()):
        arguments["ProjectionExpression"] = "pk, sk, note"
    if draw(st.integers(0, 3)) == 0:
        start = draw(items)
        arguments["ExclusiveStartKey"] = {
            attr: start.get(attr, {"S": "b"} if attr != "amount" else {"N": "2"})
            for attr in {"pk", "sk", hash_attr, *([range_attr] if range_attr else [])}
        }
    return "query", arguments


def _order(range_type: str) -> Any:
    return float if range_type == "N" else str


scans = st.builds(
    lambda index, limit: ("scan", {**({"IndexName": index} if index else {}), **({"Limit": limit} if limit else {})}),
    st.sampled_from(TARGETS),
    st.one_of(st.none(), st.integers(1, 5)),
)
operations = st.one_of(
    puts, puts, update_calls, deletes, transactions, transactions, queries(), queries(), queries(), scans
)


class Clients:
    def __init__(self) -> None:
        self.table_number = 0
        self.indexed = _client(INDEXED_REGION)
        self.plain = _client(PLAIN_REGION)

    def new_table(self) -> str:
        self.table_number += 1
        name = f"differential-{self.table_number}"
        self.indexed.create_table(TableName=name, **TABLE)
        self.plain.create_table(TableName=name, **TABLE)
        return name


def _client(region: str) -> Any:
    return boto3.client(
        "dynamodb", region_name=region, aws_access_key_id="differential", aws_secret_access_key="differential"
    )


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    with mock_aws():
        both = Clients()
        both.new_table()
        accelerate_backend(dynamodb_backends[DEFAULT_ACCOUNT_ID][INDEXED_REGION])
        yield both


def _answer(client: Any, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = dict(getattr(client, operation)(**arguments))
    except ClientError as error:
        response = error.response
        return {
            "error": response["Error"].get("Code"),
            "message": response["Error"].get("Message"),
            "reasons": response.get("CancellationReasons"),
        }
    answer.pop("ResponseMetadata", None)
    return answer


def _with_table(table: str, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if operation == "transact_write_items":
        return {
            "TransactItems": [
                {kind: {**action, "TableName": table} for kind, action in item.items()}
                for item in arguments["TransactItems"]
            ]
        }
    return {**arguments, "TableName": table}


def _same_answers(clients: Clients, operation: str, arguments: dict[str, Any]) -> None:
    indexed = _answer(clients.indexed, operation, arguments)
    plain = _answer(clients.plain, operation, arguments)
    assert indexed == plain, (operation, arguments)
    # Page on: each side continues from its own LastEvaluatedKey, and they must agree on every page.
    pages = 0
    while operation in {"query", "scan"} and "LastEvaluatedKey" in plain and pages < 5:
        arguments = {**arguments, "ExclusiveStartKey": plain["LastEvaluatedKey"]}
        indexed = _answer(clients.indexed, operation, arguments)
        plain = _answer(clients.plain, operation, arguments)
        assert indexed == plain, (operation, arguments)
        pages += 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, min_size=5, max_size=30))
def test_the_indexed_backend_answers_every_request_as_moto_does(
    clients: Clients, sequence: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given two empty tables with the same definition, one in each backend
    table = clients.new_table()

    # When the same requests go to both, Then each answer (or error) is the same
    for operation, arguments in sequence:
        _same_answers(clients, operation, _with_table(table, operation, arguments))
    for target in TARGETS:
        _same_answers(clients, "scan", {"TableName": table, **({"IndexName": target} if target else {})})


def test_the_differential_compares_an_indexed_backend_with_plain_moto(clients: Clients) -> None:
    # Given the fixture's backends, When a table is used, Then one side is indexed and the other is moto's own
    table = clients.new_table()
    clients.indexed.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p0"}}
    )
    clients.plain.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p0"}}
    )
    indexed_backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][INDEXED_REGION]
    plain_backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][PLAIN_REGION]
    assert type(indexed_backend) is IndexedDynamoDBBackend
    assert type(indexed_backend.tables[table]) is IndexedTable
    assert type(plain_backend) is DynamoDBBackend
    assert type(plain_backend.tables[table]).__name__ == "Table"


def test_a_query_reads_only_its_page_of_a_large_partition(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a partition of 2,000 items in the indexed backend
    table = clients.new_table()
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][INDEXED_REGION]
    for start in range(0, 2000, 25):
        clients.indexed.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"pk": {"S": "big"}, "sk": {"S": f"{n:05d}"}}}}
                    for n in range(start, start + 25)
                ]
            }
        )
    assert type(backend.get_table(table)) is IndexedTable
    sized: list[int] = []
    real_size = Item.size

    def counting_size(item: Item) -> int:
        sized.append(1)
        return int(real_size(item))

    # When a page of 20 in the middle is queried, counting the items whose size moto's loop computes
    monkeypatch.setattr(Item, "size", counting_size)
    answer = clients.indexed.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "big"}, ":s": {"S": "01000"}},
        Limit=20,
    )
    monkeypatch.undo()

    # Then the answer is the 20 items after the condition, and only about that many items were looked at
    assert [item["sk"]["S"] for item in answer["Items"]] == [f"{n:05d}" for n in range(1001, 1021)]
    assert answer["LastEvaluatedKey"] == {"pk": {"S": "big"}, "sk": {"S": "01020"}}
    assert len(sized) < 100


def test_another_moto_version_is_refused_with_the_pinned_one_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("localcloud.dynamodb_acceleration.version", lambda name: "9.9.9")

    with pytest.raises(UnsupportedMotoVersionError, match=r"moto 5\.2\.5 .* moto 9\.9\.9 is installed"):
        check_moto_version()


scalar_values = st.one_of(
    st.text(max_size=5).map(lambda text: {"S": text}),
    st.integers(-1000, 1000).map(lambda number: {"N": str(number)}),
    st.binary(max_size=5).map(lambda raw: {"B": base64.b64encode(raw).decode()}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True).map(lambda texts: {"SS": texts}),
    st.lists(st.integers(0, 9).map(str), min_size=1, max_size=3, unique=True).map(lambda numbers: {"NS": numbers}),
)
attribute_values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda values: {"L": values}),
        st.dictionaries(st.text(min_size=1, max_size=3), inner, max_size=3).map(lambda values: {"M": values}),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=4), attribute_values, max_size=4), max_size=4))
def test_the_dynamodb_serializer_writes_what_motos_serializer_writes(items: list[dict[str, Any]]) -> None:
    # Given a Query answer as moto's handler builds it
    answer = {
        "Count": len(items),
        "ScannedCount": len(items),
        "Items": [{name: DynamoType(value) for name, value in item.items()} for item in items],
        "LastEvaluatedKey": {"pk": DynamoType({"S": "p"})},
    }
    operation = get_service_model("dynamodb").operation_model("Query")

    # When both serializers write it
    def body(serializer: type[JSONSerializer]) -> str:
        written = serializer(operation_model=operation, value_picker=XFormedAttributePicker()).serialize(
            DynamoResult(answer).result
        )
        return str(written["body"])

    # Then the bodies are the same
    assert body(DynamoDBSerializer) == body(JSONSerializer)
