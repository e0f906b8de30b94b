"""The reliability suites run the whole stack in this process: a throwaway local cloud on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from localcloud.stack import LocalCloud, LocalCloudConfig
from tests.support.catalog import E2E_PRODUCTS, seed_local_cloud
from tests.support.cloud import ROOT, free_port


class StartCloud(Protocol):
    def __call__(
        self, parameter_overrides: Mapping[str, str] | None = None, *, function_concurrency: int = 10
    ) -> LocalCloud: ...


@pytest.fixture
def start_cloud(tmp_path: Path) -> Iterator[StartCloud]:
    """Start `localcloud up` in-process with the template's parameters overridden; stopped at teardown."""
    started: list[LocalCloud] = []
    # Hundreds of function log lines a second: the console would drown pytest's output. They still
    # reach the emulator's CloudWatch Logs and the runtime's in-memory record.
    quiet = open(os.devnull, "w")  # noqa: SIM115 (closed at teardown, after the clouds it serves)

    def start(parameter_overrides: Mapping[str, str] | None = None, *, function_concurrency: int = 10) -> LocalCloud:
        payments_port = free_port()
        config = LocalCloudConfig(
            template=ROOT / "template.yaml",
            state_dir=tmp_path / f"state-{len(started)}",
            stack_name="shop-reliability",
            parameter_overrides={
                "PaymentApiBaseUrl": f"http://127.0.0.1:{payments_port}",
                **(parameter_overrides or {}),
            },
            aws_port=free_port(),
            api_port=free_port(),
            payments_port=payments_port,
            watch=False,
            persist=False,
            function_concurrency=function_concurrency,
        )
        cloud = LocalCloud(config, console=quiet)
        cloud.start()
        started.append(cloud)
        seed_local_cloud(f"http://127.0.0.1:{config.aws_port}", E2E_PRODUCTS)
        return cloud

    yield start
    for cloud in started:
        cloud.stop(save=False)
    quiet.close()
