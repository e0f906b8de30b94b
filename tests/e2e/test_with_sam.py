"""What `sam local` and the Lambda API need of the running stack, short of the containers themselves.

No Docker here: the env file `sam local --env-vars` reads, and the Lambda API that `aws lambda invoke`,
boto3 and the functions themselves call, are checked against the `localcloud up` of the e2e session.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.emulator import emulator_session
from localcloud.template import load_template
from tests.support.cloud import ROOT, RunningCloud

STACK = "shop-e2e"
REGION = "us-east-1"
EVENTS = ROOT / "events"
# An environment with none of the host's AWS settings, and credentials the emulator accepts.
ENVIRONMENT = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")} | {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
}


def template_functions() -> dict[str, set[str]]:
    """Every function of template.yaml and the variable names it declares, Globals included."""
    template = load_template(ROOT / "template.yaml")
    global_variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    return {
        logical_id: global_variables | set(resource["Properties"].get("Environment", {}).get("Variables", {}))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def event_file(logical_id: str) -> Path:
    """events/<function in snake case>.json, the file the README passes to `sam local invoke`."""
    stem = re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id.removesuffix("Function")).lower()
    return EVENTS / f"{stem}.json"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=ENVIRONMENT, capture_output=True, text=True, timeout=120, check=False)


def lambda_client(cloud: RunningCloud) -> Any:
    return emulator_session(REGION).client("lambda", endpoint_url=cloud.aws)


def test_aws_lambda_invoke_runs_the_health_function(cloud: RunningCloud, tmp_path: Path) -> None:
    # Given
    output = tmp_path / "out.json"

    # When
    result = run(sys.executable, "-m", "awscli", "lambda", "invoke", "--function-name", f"{STACK}-HealthFunction",
                 "--endpoint-url", cloud.aws, "--output", "json", str(output))  # fmt: skip

    # Then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["StatusCode"] == 200
    assert json.loads(output.read_text())["statusCode"] == 200


def test_every_function_has_its_sample_event(cloud: RunningCloud) -> None:
    missing = sorted(logical_id for logical_id in template_functions() if not event_file(logical_id).is_file())

    assert missing == []


@pytest.mark.parametrize("logical_id", sorted(set(template_functions()) - {"AuthorizerFunction"}))
def test_each_function_runs_its_sample_event_through_the_lambda_api(cloud: RunningCloud, logical_id: str) -> None:
    # When
    answer = lambda_client(cloud).invoke(
        FunctionName=f"{STACK}-{logical_id}", Payload=event_file(logical_id).read_bytes()
    )

    # Then
    payload = json.loads(answer["Payload"].read())
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer, payload
    assert payload.get("statusCode", 200) < 500, payload


def test_the_authorizer_refuses_the_sample_token_as_a_function_error(cloud: RunningCloud) -> None:
    # When: the sample token is signed with another key than this stack's
    answer = lambda_client(cloud).invoke(
        FunctionName=f"{STACK}-AuthorizerFunction", Payload=event_file("AuthorizerFunction").read_bytes()
    )

    # Then: API Gateway turns this error into its 401
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorMessage"] == "Unauthorized"


def test_env_vars_declares_every_variable_of_every_function_with_container_addresses(
    cloud: RunningCloud, tmp_path: Path
) -> None:
    # Given
    output = tmp_path / "env.json"
    payments_port = cloud.payments.rsplit(":", 1)[1]
    aws_port = cloud.aws.rsplit(":", 1)[1]
    # The Docker bridge's address where there is one, else Docker Desktop's name, as `up` says.
    [host] = re.findall(r"^Containers +reach it at (\S+) ", "".join(cloud.output), re.MULTILINE)

    # When
    result = run(sys.executable, "-m", "localcloud", "env-vars", "--stack-name", STACK,
                 "--endpoint-url", cloud.aws, "-o", str(output))  # fmt: skip

    # Then: nothing to warn about, and each function gets every variable it declares
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(output.read_text())
    assert {name: set(variables) for name, variables in document.items()} == template_functions()
    for variables in document.values():
        assert variables["AWS_ENDPOINT_URL"] == f"http://{host}:{aws_port}"
        assert variables["PAYMENT_API_BASE_URL"] == f"http://{host}:{payments_port}"
        assert not [value for value in variables.values() if "127.0.0.1" in value]


def test_localcloud_invoke_answers_from_the_warm_stack(cloud: RunningCloud) -> None:
    # When
    result = run(sys.executable, "-m", "localcloud", "invoke", "ReadyFunction", "-e", "events/ready.json",
                 "--endpoint-url", cloud.aws)  # fmt: skip

    # Then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200
    assert result.stderr.splitlines()[-1].startswith("REPORT RequestId: ")
