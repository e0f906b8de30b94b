"""Handlers called in-process against moto, with every resource created from template.yaml."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from localcloud.provision import provision
from localcloud.spec import StackSpec
from tests.support.catalog import seed_products
from tests.support.events import FakeLambdaContext

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None) -> StackSpec:
    """The template's resources, with the products the sample events order in the catalog."""
    spec = provision(TEMPLATE, endpoint_url=None, region=REGION, stack_name="shop-test")
    table = spec.functions["CreateOrderFunction"].environment["TABLE_NAME"]
    seed_products(boto3.client("dynamodb", region_name=REGION), table)
    return spec


@pytest.fixture
def function_env(stack: StackSpec, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment the template gives the functions (Globals: the same for every one)."""
    environment = dict(stack.functions["CreateOrderFunction"].environment)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.fixture
def load_handler(function_env: dict[str, str]) -> Callable[[str], ModuleType]:
    """Import a handler module afresh: its module-level composition is the cold start."""

    def load(module_name: str) -> ModuleType:
        sys.modules.pop(module_name, None)
        return importlib.import_module(module_name)

    return load


@pytest.fixture
def invoke(load_handler: Callable[[str], ModuleType]) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Call `<module>.handler(event, context)` once per module load, as a warm Lambda would."""
    loaded: dict[str, ModuleType] = {}

    def call(module_name: str, event: dict[str, Any]) -> dict[str, Any]:
        if module_name not in loaded:
            loaded[module_name] = load_handler(module_name)
        result: dict[str, Any] = loaded[module_name].handler(event, FakeLambdaContext(function_name=module_name))
        return result

    return call


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def atomic_moto_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request atomically; in-process moto does not (it deep-copies tables
    while other threads write). Serialising moto's write operations restores DynamoDB's per-request
    atomicity, while the handlers themselves still race each other end to end."""
    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "get_item", "update_item", "batch_get_item", "query"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)
