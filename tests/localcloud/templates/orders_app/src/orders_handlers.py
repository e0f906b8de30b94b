"""Handlers of the provisioning test app; provisioning only needs them to exist."""

from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 200, "body": "ok"}


def authorize(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"principalId": "user", "policyDocument": {"Version": "2012-10-17", "Statement": []}}
