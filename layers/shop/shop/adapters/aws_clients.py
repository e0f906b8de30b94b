"""boto3 clients, one factory per service, with the timeouts and retries each use calls for.

Creating a client makes no network call, so importing a handler never reaches AWS. Endpoints
come from the standard AWS_ENDPOINT_URL variables, so nothing here knows where it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# API Gateway gives up after 29 s; a request must fail fast enough to answer within that, with
# the SDK's standard retry mode absorbing throttling and brief faults.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
CONNECT_TIMEOUT_SECONDS = 2
SES_READ_TIMEOUT_SECONDS = 5
# SendEmail is not idempotent: an SDK retry after a read timeout could send twice, so the SES
# client makes one attempt and the workers' email marker protocol decides about any retry.
SES_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=SES_READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "max_attempts": 1},
)


def _client(service: str, config: Config = CLIENT_CONFIG) -> Any:
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


def dynamodb_client() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def sqs_client() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def secrets_client() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client


def sesv2_client() -> SESV2Client:
    client: SESV2Client = _client("sesv2", SES_CONFIG)
    return client


def sns_client() -> SNSClient:
    client: SNSClient = _client("sns")
    return client
