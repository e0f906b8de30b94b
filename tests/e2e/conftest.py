"""Shop API over real HTTP, against `localcloud up` started in a subprocess on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.catalog import E2E_PRODUCTS, seed_local_cloud
from tests.support.cloud import ROOT, RunningCloud, localcloud_up


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    extra = [
        "--stack-name", "shop-e2e", "--reset", "--no-watch", "--bind-for-containers",
        "--parameter-overrides", "PaymentApiBaseUrl=http://127.0.0.1:{payments_port}",
    ]  # fmt: skip
    with localcloud_up(ROOT / "template.yaml", tmp_path_factory.mktemp("localcloud-state"), extra) as running:
        # The products the tests order, written straight into the table (the catalog API has its own tests).
        seed_local_cloud(running.aws, E2E_PRODUCTS)
        yield running
