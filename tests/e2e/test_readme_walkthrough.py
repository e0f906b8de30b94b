"""The README's curl walk-through, run as written against a local cloud."""

from __future__ import annotations

import os
import re
import subprocess

from tests.support.cloud import ROOT, RunningCloud


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough:start -->\n```sh\n(.*?)```\n<!-- walkthrough:end -->", readme, re.DOTALL)
    assert match, "the README lost its walk-through markers"
    return match.group(1)


def test_the_readme_walkthrough_works_as_written(cloud: RunningCloud) -> None:
    environment = {
        **os.environ,
        "API": cloud.api,
        "AWS_ENDPOINT_URL": cloud.aws,
        "LOCALCLOUD_PAYMENTS_URL": cloud.payments,
        # The first-admin command's table: the e2e stack's, where `make run` would have shop-api's.
        "TABLE": "shop-e2e-ShopTable",
    }

    result = subprocess.run(
        ["bash", "-eu", "-c", walkthrough()],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )

    output = result.stdout
    assert result.returncode == 0, result.stderr
    assert '"status":"ok"' in output and '"status":"ready"' in output
    assert "now has the roles customer, admin" in output
    assert '"sku":"ENGINE-1"' in output and 'ETag: "1"' in output and '"stock":50' in output
    assert '"status":"paid"' in output and '"name":"Sketches of the Analytical Engine"' in output
    assert "HTTP/1.1 403" in output
    assert "was paid, so it can no longer be cancelled" in output
    assert '"shortages": [{"sku": "QUILL-1", "requested": 1000' in output
    assert "prices come from the catalog" in output
    assert '"status": 422' in output and "HTTP/1.1 401" in output
    assert "Subject: Your receipt" in output or "receipt" in output.lower()
    assert "succeeded" in output and "PaymentsQueue" in output
    assert "PaymentSucceeded" in output
    assert '"roles":["support"]' in output
    assert '"status":"partially_refunded"' in output and '"refunded_amount":1000' in output
    assert "Subject: Refund of EUR 10.00 for order" in output
