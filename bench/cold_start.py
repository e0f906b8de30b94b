"""Cold start of every function: a fresh interpreter importing its handler, beside the floors of Python and boto3.

Each run spawns `python -c "import <handler module>"` with the environment the template gives the
function and the variables Lambda adds, and times it from the spawn to the end of the import (the
interpreter's exit left out); the figure is the median of RUNS runs, taken in the same run as the
floors. AWS_ENDPOINT_URL points at a port where nothing listens, so a handler that called AWS while
importing would fail here. Then, per function, what its import loads that its path never uses: a
probe process runs the handler once on the success path against an emulator (bench.handler_probe),
and `-X importtime` prices the rest (bench.import_costs). Run: `.venv/bin/python -m bench.cold_start`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import boto3

from bench.common import ORDER, PASSWORD, ROOT, median, record, take_batch
from bench.import_costs import (
    UnneededPackage,
    handler_imports,
    imported_us,
    parse_importtime,
    top_level,
    unneeded_packages,
)
from localcloud.emulator import Emulator
from localcloud.payments import PaymentProvider
from localcloud.provision import provision_stack
from localcloud.spec import FunctionSpec, StackSpec
from tests.support.cloud import free_port
from tests.support.events import api_event, load_event

RUNS = 5
FLOORS = {
    "python -c pass": "pass",
    "import boto3": "import boto3",
    "import boto3 and create one client": "import boto3; boto3.client('dynamodb')",
}
# Unneeded packages cheaper than this are left out of the report.
SHOWN_US = 1000
PROJECT = ("shop",)
LAYER_REQUIREMENTS = ROOT / "layers" / "shop" / "requirements.txt"


@dataclass(frozen=True)
class ColdStart:
    function: FunctionSpec
    init_s: list[float]
    imported_us: int
    unneeded: list[UnneededPackage]
    not_deployed: list[str]


def lambda_environment(function: FunctionSpec, endpoint_url: str) -> dict[str, str]:
    """The template's variables, those Lambda sets that change what the libraries do, AWS on `endpoint_url`."""
    return {
        **function.environment,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(str(path) for path in (function.code_dir, *function.layer_dirs)),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # Powertools turns its tracer on (and the X-Ray SDK's patching) only inside Lambda.
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "_HANDLER": function.handler,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }


def handler_module(function: FunctionSpec) -> str:
    return function.handler.rpartition(".")[0]


def seconds_to_run(code: str, environment: Mapping[str, str], cwd: Path) -> float:
    """From spawning `python -c <code>` to the end of the code."""
    script = f"{code}\nimport time\nprint(time.monotonic())"
    # CLOCK_MONOTONIC is one clock for every process of the machine.
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script], env=dict(environment), cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"`{code}` failed in a fresh process: {result.stderr.strip().splitlines()[-1:]}")
    return float(result.stdout.strip().splitlines()[-1]) - started


def import_report(function: FunctionSpec, environment: Mapping[str, str]) -> tuple[str, set[str]]:
    """The `-X importtime` report of the handler's import (failed attempts included), and what it left loaded."""
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            f"import {handler_module(function)}\nimport sys\nprint('\\n'.join(sys.modules))",
        ],
        env=dict(environment),
        cwd=function.code_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr, set(result.stdout.split())


class Prober:
    """Runs each handler once in a probe process against the emulator, on the success path."""

    def __init__(self, endpoint_url: str, workdir: Path) -> None:
        self._endpoint_url = endpoint_url
        self._workdir = workdir
        self.used: dict[str, set[str]] = {}

    def run(self, function: FunctionSpec, event: Any) -> Any:
        event_file = self._workdir / f"{function.logical_id}-event.json"
        report_file = self._workdir / f"{function.logical_id}-report.json"
        event_file.write_text(json.dumps(event))
        result = subprocess.run(
            [sys.executable, "-m", "bench.handler_probe", handler_module(function), str(event_file), str(report_file)],
            env=lambda_environment(function, self._endpoint_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"the probe of {function.logical_id} failed: {result.stderr.strip()[-2000:]}")
        report = json.loads(report_file.read_text())
        self.used[function.logical_id] = set(report["used"])
        return report["response"]


def probe_every_function(stack: StackSpec, prober: Prober, sqs: Any) -> None:
    """Each function's success path, in the order the data it needs comes into being."""
    functions = stack.functions

    def api(logical_id: str, event: dict[str, Any], status: int) -> Any:
        response = prober.run(functions[logical_id], event)
        assert response["statusCode"] == status, response
        return json.loads(response["body"]) if response["body"].startswith(("{", "[")) else response["body"]

    api("HealthFunction", api_event("health"), 200)
    api("DocsFunction", api_event("openapi"), 200)
    api("ReadyFunction", api_event("ready"), 200)
    email = "cold-start@example.com"
    user_id = api(
        "RegisterFunction", api_event("register", body={"email": email, "password": PASSWORD, "name": "Cold"}), 201
    )["id"]
    token = api("LoginFunction", api_event("login", body={"email": email, "password": PASSWORD}), 200)["access_token"]
    policy = prober.run(
        functions["AuthorizerFunction"], {**load_event("authorizer"), "authorizationToken": f"Bearer {token}"}
    )
    assert policy["principalId"] == user_id, policy
    api("MeFunction", api_event("me", user_id=user_id), 200)
    order_id = api("CreateOrderFunction", api_event("create_order", user_id=user_id, body=ORDER), 201)["id"]
    api("GetOrderFunction", api_event("get_order", user_id=user_id, path_parameters={"order_id": order_id}), 200)
    api("ListOrdersFunction", api_event("list_orders", user_id=user_id, query={}), 200)
    for worker in ("PaymentWorkerFunction", "NotificationWorkerFunction"):
        response = prober.run(functions[worker], take_batch(sqs, functions[worker]))
        assert response["batchItemFailures"] == [], response
    prober.run(functions["MaintenanceFunction"], load_event("maintenance"))


def installed_and_deployed() -> tuple[set[str], set[str]]:
    """Top-level modules of every installed distribution, and of those the layer deploys."""
    required = {
        re.split(r"[=<>~ ]", line, maxsplit=1)[0].lower().replace("_", "-")
        for line in LAYER_REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    installed = packages_distributions()
    deployed = {
        top
        for top, distributions in installed.items()
        if any(distribution.lower().replace("_", "-") in required for distribution in distributions)
    }
    return set(installed), deployed


def measure(stack: StackSpec, used: Mapping[str, set[str]], closed_endpoint: str) -> list[ColdStart]:
    installed, deployed = installed_and_deployed()
    results = []
    for function in stack.functions.values():
        environment = lambda_environment(function, closed_endpoint)
        module = handler_module(function)
        init_s = [seconds_to_run(f"import {module}", environment, function.code_dir) for _ in range(RUNS)]
        report, loaded = import_report(function, environment)
        modules = parse_importtime(report)
        project = (*PROJECT, module)
        third_party = {
            top_level(modules[index].name)
            for index in handler_imports(modules, module)
            if modules[index].name in loaded and top_level(modules[index].name) in installed
        }
        results.append(
            ColdStart(
                function,
                init_s,
                imported_us(modules, module),
                unneeded_packages(modules, module, loaded=loaded, used=used[function.logical_id], project=project),
                sorted(third_party - deployed - set(project)),
            )
        )
    return results


def describe(result: ColdStart) -> str:
    unneeded_us = sum(package.self_us for package in result.unneeded)
    listed = "; ".join(
        f"{package.name}{' (with ' + ', '.join(package.brought) + ')' if package.brought else ''} "
        f"via {package.imported_by} {package.self_us / 1000:.0f} ms"
        for package in result.unneeded
        if package.self_us >= SHOWN_US
    )
    function = result.function
    line = (
        f"{function.logical_id} ({handler_module(function)}): init p50 {median(result.init_s) * 1000:.0f} ms "
        f"(min {min(result.init_s) * 1000:.0f}, max {max(result.init_s) * 1000:.0f}); handler import "
        f"{result.imported_us / 1000:.0f} ms by -X importtime, of which packages its path never uses "
        f"{unneeded_us / 1000:.0f} ms{': ' + listed if listed else ''}"
    )
    if result.not_deployed:
        line += f"; loaded here but not deployed in the layer (local cost only): {', '.join(result.not_deployed)}"
    return line


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, Emulator(0) as emulator, PaymentProvider(port=0) as provider:
        stack = provision_stack(
            ROOT / "template.yaml",
            endpoint_url=emulator.url,
            stack_name="shop-cold-start",
            parameter_overrides={"PaymentApiBaseUrl": provider.url},
        ).stack
        sqs = boto3.client(
            "sqs",
            endpoint_url=emulator.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        prober = Prober(emulator.url, Path(workdir))
        probe_every_function(stack, prober, sqs)
        closed_endpoint = f"http://127.0.0.1:{free_port()}"
        any_function = next(iter(stack.functions.values()))
        floor_environment = lambda_environment(any_function, closed_endpoint)
        floors = {
            label: median([seconds_to_run(code, floor_environment, ROOT) for _ in range(RUNS)])
            for label, code in FLOORS.items()
        }
        results = measure(stack, prober.used, closed_endpoint)
    results.sort(key=lambda result: median(result.init_s), reverse=True)
    record(
        "Cold start per function",
        [
            f"fresh `python -c` per run, spawn to end of import, median of {RUNS}; the function's template "
            "environment plus Lambda's variables; AWS_ENDPOINT_URL on a closed port (an AWS call at import would "
            "have failed the run: none did)",
            "floors: " + ", ".join(f"{label} {seconds * 1000:.0f} ms" for label, seconds in floors.items()),
            *(describe(result) for result in results),
        ],
    )


if __name__ == "__main__":
    main()
