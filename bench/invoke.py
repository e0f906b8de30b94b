"""`localcloud invoke` warm through a running stack's Lambda API, beside the same command cold, in one run.

Warm: `localcloud up` runs (here `local_cloud()`), and the command calls the Lambda API on its emulator,
which hands the event to a warm worker. Cold: the command against an emulator that serves no stack (a bare
one), so it provisions the template and starts a new worker process, as it does without `localcloud up`.
Both are timed from the spawn of the command to its exit, with ReadyFunction and events/ready.json (it reads
DynamoDB and both queues); the REPORT lines give the function's own share. Then boto3's Invoke from one
process, the floor under the warm command. Run: `.venv/bin/python -m bench.invoke`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from bench.common import ROOT, local_cloud, median, ms, percentile, record
from localcloud.emulator import Emulator, emulator_session
from tests.support.cloud import free_port

FUNCTION = "ReadyFunction"
EVENT = "events/ready.json"
RUNS = 5
SDK_CALLS = 50
ENVIRONMENT = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}


def timed_invoke(endpoint_url: str) -> tuple[float, dict[str, float]]:
    """The command's wall time and the figures of its REPORT line."""
    command = [sys.executable, "-m", "localcloud", "invoke", FUNCTION, "-e", EVENT, "--endpoint-url", endpoint_url]
    command += ["--stack-name", "shop-bench"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=ENVIRONMENT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"localcloud invoke failed: {result.stdout}{result.stderr}")
    report = next(line for line in result.stderr.splitlines() if line.startswith("REPORT RequestId: "))
    return elapsed, {name: float(value) for name, value in re.findall(r"\t([A-Za-z ]+): ([\d.]+) ms", report)}


def summary(label: str, runs: list[tuple[float, dict[str, float]]]) -> str:
    walls = [wall for wall, _ in runs]
    durations = [report["Duration"] for _, report in runs]
    inits = [report["Init Duration"] for _, report in runs if "Init Duration" in report]
    init = f", Init Duration median {median(inits):.0f} ms" if inits else ", no Init Duration (warm)"
    return (
        f"{label}: command median {ms(median(walls))} (min {ms(min(walls))}, max {ms(max(walls))}); "
        f"REPORT Duration median {median(durations):.1f} ms{init}"
    )


def main() -> None:
    with local_cloud() as cloud:
        timed_invoke(cloud.emulator.url)  # the first call starts the worker
        warm = [timed_invoke(cloud.emulator.url) for _ in range(RUNS)]
        client = emulator_session("us-east-1").client("lambda", endpoint_url=cloud.emulator.url)
        payload = (ROOT / EVENT).read_bytes()
        sdk = []
        for _ in range(SDK_CALLS):
            started = time.perf_counter()
            client.invoke(FunctionName=f"shop-bench-{FUNCTION}", Payload=payload)["Payload"].read()
            sdk.append(time.perf_counter() - started)
    with Emulator(free_port()) as bare:
        cold = [timed_invoke(bare.url) for _ in range(RUNS)]
    ratio = median([wall for wall, _ in cold]) / median([wall for wall, _ in warm])
    record(
        f"localcloud invoke {FUNCTION}: warm through the Lambda API and cold, one run",
        [
            f"{RUNS} runs each of `localcloud invoke {FUNCTION} -e {EVENT}`, wall time of the command",
            summary("warm (running stack, Lambda API)", warm),
            summary("cold (no stack running it)", cold),
            f"cold / warm: {ratio:.1f}x",
            f"boto3 Invoke from one process, {SDK_CALLS} calls: p50 {ms(median(sdk))}, p95 {ms(percentile(sdk, 0.95))}",
        ],
    )


if __name__ == "__main__":
    main()
