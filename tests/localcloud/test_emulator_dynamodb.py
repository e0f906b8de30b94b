"""The emulator serves DynamoDB through the indexed backend, and refuses a moto it was not written for."""

from __future__ import annotations

import uuid

import pytest
from moto.dynamodb.models import dynamodb_backends

from localcloud.dynamodb_acceleration import IndexedDynamoDBBackend, IndexedTable, UnsupportedMotoVersionError
from localcloud.emulator import Emulator, emulator_account_id
from tests.localcloud.emulator_clients import Clients

REGION = "us-east-1"


def test_the_emulator_answers_queries_from_indexed_tables() -> None:
    # Given a running emulator and a table written to over HTTP
    with Emulator() as emulator:
        dynamodb = Clients(emulator, REGION).dynamodb
        table = f"indexed-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for sk in ("b", "a", "c"):
            dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": sk}})

        # When it is queried newest first
        answer = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            ScanIndexForward=False,
            Limit=2,
        )

        # Then the answer comes from the indexed backend, in DynamoDB's order
        backend = dynamodb_backends[emulator_account_id()][REGION]
        assert type(backend) is IndexedDynamoDBBackend
        assert type(backend.tables[table]) is IndexedTable
        assert [item["sk"]["S"] for item in answer["Items"]] == ["c", "b"]
        assert answer["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"S": "b"}}


def test_an_emulator_over_another_moto_version_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("localcloud.dynamodb_acceleration.version", lambda name: "5.3.0")
    emulator = Emulator()

    with pytest.raises(UnsupportedMotoVersionError, match="requirements-dev.txt"):
        emulator.start()

    assert not emulator.running
