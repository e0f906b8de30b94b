"""template.yaml deploys: translated by the SAM translator, then created in moto's CloudFormation.

The translation runs in the SAM CLI's own venv (.venv-sam), which pins pydantic and boto3 apart
from the app. moto 5.2.5 cannot build what the translation makes of the API (an
AWS::ApiGateway::RestApi from a Body, its Deployment and Stage), so those resources, the Lambda
permissions that name the API and the output that names it are left out of the stack; the API's
throttling, authorizer, routes and gateway responses are checked on the translated template
instead. moto also creates no AWS::SecretsManager::Secret, AWS::CloudWatch::Alarm or
AWS::SES::EmailIdentity from a template, and ignores TTL and function layers: those are checked on
the translated template too.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import tomllib
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.template import IntrinsicResolver, TemplateError, load_template, pseudo_parameters, resolve_parameters
from shop.entrypoints.routes import ROUTES
from shop.entrypoints.settings import load_pipeline_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
TRANSLATE = Path(__file__).with_name("sam_translate.py")
REGION = "us-east-1"
CODE_BUCKET = "shop-api-deploy-check"
CODE_KEY = "shop-api/code.zip"
STACK_NAME = "shop-api-deploy-check"
LEFT_OUT_TYPE_PREFIX = "AWS::ApiGateway::"
# moto 5.2.5 creates none of these from a template; the translated template is checked for them.
MOTO_SKIPS = frozenset({"AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm", "AWS::SES::EmailIdentity"})
SECRET_VARIABLES = {"SIGNING_KEY_SECRET_ID": "SigningKeySecret", "PAYMENT_API_KEY_SECRET_ID": "PaymentApiKeySecret"}
# The variable `sam local` points at the emulator; boto3 also reads per-service ones (AWS_ENDPOINT_URL_SQS...).
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
# samconfig.toml's environments: `sam deploy` uses [default], the dev stack.
SAMCONFIG_ENVIRONMENTS = {"dev": "default", "prod": "prod"}

FUNCTIONS = {
    # logical id: (handler, timeout, memory)
    "AuthorizerFunction": ("authorizer.handler", 10, 512),
    "RegisterFunction": ("register.handler", 10, 512),
    "LoginFunction": ("login.handler", 10, 512),
    "MeFunction": ("me.handler", 10, 512),
    "CreateOrderFunction": ("create_order.handler", 10, 512),
    "GetOrderFunction": ("get_order.handler", 10, 512),
    "ListOrdersFunction": ("list_orders.handler", 10, 512),
    "HealthFunction": ("health.handler", 10, 256),
    "ReadyFunction": ("ready.handler", 10, 256),
    "DocsFunction": ("docs.handler", 10, 256),
    "PaymentWorkerFunction": ("payment_worker.handler", 30, 512),
    "NotificationWorkerFunction": ("notification_worker.handler", 30, 512),
    "MaintenanceFunction": ("maintenance.handler", 60, 512),
    "ListProductsFunction": ("list_products.handler", 10, 512),
    "GetProductFunction": ("get_product.handler", 10, 512),
    "CreateProductFunction": ("create_product.handler", 10, 512),
    "UpdateProductFunction": ("update_product.handler", 10, 512),
    "AdminListOrdersFunction": ("admin_list_orders.handler", 10, 512),
    "AdminGetOrderFunction": ("admin_get_order.handler", 10, 512),
    "ResolveOrderFunction": ("resolve_order.handler", 10, 512),
    "SetUserRolesFunction": ("set_user_roles.handler", 10, 512),
    "RefundOrderFunction": ("refund_order.handler", 10, 512),
    "CancelOrderFunction": ("cancel_order.handler", 10, 512),
}


@dataclass(frozen=True)
class DeployedStack:
    """What moto's CloudFormation built, read back once through the service APIs."""

    status: str
    physical_ids: dict[str, str]
    table: dict[str, Any]
    queues: dict[str, dict[str, str]]
    functions: dict[str, dict[str, Any]]
    event_source_mappings: list[dict[str, Any]]
    # Resource types moto's CloudFormation skipped (it warns and carries on).
    not_built: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def translation() -> str:
    """The translated template as JSON text (text, so no test can change what another reads)."""
    if not SAM_PYTHON.exists():
        message = f"{SAM_PYTHON.relative_to(ROOT)} is missing: `make install` creates the SAM CLI's venv"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [str(SAM_PYTHON), str(TRANSLATE), str(TEMPLATE), f"s3://{CODE_BUCKET}/{CODE_KEY}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION, "SAM_CLI_TELEMETRY": "0"},
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"the SAM translator refused template.yaml:\n{result.stderr}")
    return result.stdout


@pytest.fixture
def translated(translation: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(translation)
    return parsed


@pytest.fixture(scope="module")
def deployed(translation: str) -> DeployedStack:
    template = buildable_part(json.loads(translation))
    with pytest.MonkeyPatch.context() as environment, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            environment.delenv(name, raising=False)
        environment.setenv("AWS_DEFAULT_REGION", REGION)
        environment.setenv("AWS_ACCESS_KEY_ID", "testing")
        environment.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            upload_dummy_code()
            cloudformation = boto3.client("cloudformation", region_name=REGION)
            cloudformation.create_stack(
                StackName=STACK_NAME, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
            )
            stack = read_back(cloudformation)
    unsupported = re.compile(r"Tried to parse (\S+) but it's not supported by moto's CloudFormation")
    not_built = {match[1] for warning in caught if (match := unsupported.search(str(warning.message)))}
    return replace(stack, not_built=frozenset(not_built))


def buildable_part(template: dict[str, Any]) -> dict[str, Any]:
    """The template without the API Gateway resources and whatever names them."""
    resources = template["Resources"]
    left_out = {name for name, resource in resources.items() if resource["Type"].startswith(LEFT_OUT_TYPE_PREFIX)}
    while dependents := {
        name for name, resource in resources.items() if name not in left_out and references(resource) & left_out
    }:
        left_out |= dependents
    template["Resources"] = {name: resource for name, resource in resources.items() if name not in left_out}
    outputs = template.get("Outputs", {})
    template["Outputs"] = {name: output for name, output in outputs.items() if not references(output) & left_out}
    return template


def references(node: Any) -> set[str]:
    """Logical ids a template fragment names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for child in node:
            found |= references(child)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                named = {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= (named - variables.keys()) | references(variables)
            else:
                found |= references(value)
    # Pseudo parameters (AWS::Region, AWS::StackName...) are no resources.
    return {name for name in found if not name.startswith("AWS::")}


def upload_dummy_code() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=CODE_BUCKET)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as code:
        code.writestr("placeholder.py", "")
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=archive.getvalue())


def read_back(cloudformation: Any) -> DeployedStack:
    stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    summaries = cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
    physical_ids = {s["LogicalResourceId"]: s.get("PhysicalResourceId", "") for s in summaries}
    sqs: Any = boto3.client("sqs", region_name=REGION)
    queues = {
        name: sqs.get_queue_attributes(QueueUrl=physical_ids[name], AttributeNames=["All"])["Attributes"]
        for name in ("PaymentsQueue", "PaymentsDeadLetterQueue", "NotificationsQueue", "NotificationsDeadLetterQueue")
    }
    lambda_client = boto3.client("lambda", region_name=REGION)
    functions = {name: lambda_client.get_function_configuration(FunctionName=physical_ids[name]) for name in FUNCTIONS}
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=physical_ids["ShopTable"])["Table"]
    return DeployedStack(
        status=stack["StackStatus"],
        physical_ids=physical_ids,
        table=dict(table),
        queues=queues,
        functions=functions,
        event_source_mappings=lambda_client.list_event_source_mappings()["EventSourceMappings"],
    )


def test_the_stack_is_created_and_moto_skips_only_the_known_resource_types(deployed: DeployedStack) -> None:
    assert deployed.status == "CREATE_COMPLETE"
    assert deployed.not_built == MOTO_SKIPS


def test_the_table_has_its_key_schema_and_its_indexes(deployed: DeployedStack) -> None:
    table = deployed.table
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}

    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert indexes.keys() == {
        "ByUserStatus",
        "PendingPayments",
        "OrdersByStatus",
        "OrderById",
        "CatalogBySku",
        "CatalogByName",
    }
    assert indexes["ByUserStatus"]["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert indexes["ByUserStatus"]["Projection"] == {"ProjectionType": "ALL"}
    assert indexes["PendingPayments"]["KeySchema"] == [
        {"AttributeName": "gsi2pk", "KeyType": "HASH"},
        {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
    ]
    assert indexes["PendingPayments"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert indexes["OrdersByStatus"]["KeySchema"] == [
        {"AttributeName": "gsi3pk", "KeyType": "HASH"},
        {"AttributeName": "gsi3sk", "KeyType": "RANGE"},
    ]
    assert indexes["OrderById"]["KeySchema"] == [{"AttributeName": "gsi4pk", "KeyType": "HASH"}]
    assert indexes["OrderById"]["Projection"] == {"ProjectionType": "ALL"}


@pytest.mark.parametrize(
    ("queue", "dead_letter_queue"),
    [("PaymentsQueue", "PaymentsDeadLetterQueue"), ("NotificationsQueue", "NotificationsDeadLetterQueue")],
)
def test_each_work_queue_redrives_to_its_own_dead_letter_queue_after_eight_receives(
    deployed: DeployedStack, queue: str, dead_letter_queue: str
) -> None:
    attributes = deployed.queues[queue]
    redrive = json.loads(attributes["RedrivePolicy"])

    assert redrive["deadLetterTargetArn"] == deployed.queues[dead_letter_queue]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 8
    assert attributes["VisibilityTimeout"] == "180"
    assert deployed.queues[dead_letter_queue]["MessageRetentionPeriod"] == "1209600"
    assert "RedrivePolicy" not in deployed.queues[dead_letter_queue]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_has_its_handler_runtime_timeout_and_memory(deployed: DeployedStack, function: str) -> None:
    handler, timeout, memory = FUNCTIONS[function]

    configuration = deployed.functions[function]

    assert (configuration["Handler"], configuration["Timeout"], configuration["MemorySize"]) == (
        handler,
        timeout,
        memory,
    )
    assert configuration["Runtime"] == "python3.12"
    assert configuration["Architectures"] == ["x86_64"]


def test_the_template_declares_exactly_these_functions(translated: dict[str, Any]) -> None:
    declared = {
        name for name, resource in translated["Resources"].items() if resource["Type"] == "AWS::Lambda::Function"
    }

    assert declared == FUNCTIONS.keys()


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_gets_its_environment_with_references_resolved(
    deployed: DeployedStack, translated: dict[str, Any], function: str
) -> None:
    declared = translated["Resources"][function]["Properties"]["Environment"]["Variables"]
    defaults = {name: str(parameter.get("Default")) for name, parameter in translated["Parameters"].items()}

    def resolved(value: Any) -> str:
        if isinstance(value, dict):
            name = value["Ref"]
            return defaults[name] if name in defaults else deployed.physical_ids[name]
        return str(value)

    expected = {
        name: resolved(value)
        for name, value in declared.items()
        if name not in SECRET_VARIABLES and name != ENDPOINT_VARIABLE
    }
    environment = {name: str(value) for name, value in deployed.functions[function]["Environment"]["Variables"].items()}

    assert environment == expected
    assert environment["TABLE_NAME"] == deployed.table["TableName"]
    assert environment["PAYMENTS_QUEUE_URL"] == deployed.physical_ids["PaymentsQueue"]
    assert environment["NOTIFICATIONS_QUEUE_URL"] == deployed.physical_ids["NotificationsQueue"]
    assert {name: declared[name] for name in SECRET_VARIABLES} == {
        name: {"Ref": secret} for name, secret in SECRET_VARIABLES.items()
    }


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_the_deployed_environment_satisfies_the_functions_settings(deployed: DeployedStack, function: str) -> None:
    environment = {name: str(value) for name, value in deployed.functions[function]["Environment"]["Variables"].items()}
    secret_ids = {
        name: f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{secret}"
        for name, secret in SECRET_VARIABLES.items()
    }

    settings = load_pipeline_settings({**environment, **secret_ids})

    assert settings.table_name == deployed.table["TableName"]


def test_the_login_function_gets_the_failure_limit_of_five_in_fifteen_minutes(deployed: DeployedStack) -> None:
    environment = deployed.functions["LoginFunction"]["Environment"]["Variables"]

    assert (str(environment["LOGIN_FAILURE_LIMIT"]), str(environment["LOGIN_FAILURE_WINDOW_SECONDS"])) == ("5", "900")


@pytest.mark.parametrize(
    ("function", "queue", "batch_size"),
    [("PaymentWorkerFunction", "PaymentsQueue", 3), ("NotificationWorkerFunction", "NotificationsQueue", 10)],
)
def test_each_worker_reads_its_queue_in_small_batches_with_partial_failures(
    deployed: DeployedStack, function: str, queue: str, batch_size: int
) -> None:
    function_arn = deployed.functions[function]["FunctionArn"]
    mappings = [m for m in deployed.event_source_mappings if m["FunctionArn"] == function_arn]

    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["EventSourceArn"] == deployed.queues[queue]["QueueArn"]
    assert mapping["BatchSize"] == batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == 0
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["State"] == "Enabled"


def test_the_stage_throttles_every_method_with_the_parameters(translated: dict[str, Any]) -> None:
    stages = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]

    assert len(stages) == 1
    assert stages[0]["Properties"]["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"},
            "MetricsEnabled": True,
        }
    ]
    assert translated["Parameters"]["ThrottleRateLimit"]["Default"] == 50
    assert translated["Parameters"]["ThrottleBurstLimit"]["Default"] == 100


def api_body(translated: dict[str, Any]) -> dict[str, Any]:
    apis = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert len(apis) == 1
    body: dict[str, Any] = apis[0]["Properties"]["Body"]
    return body


def test_the_authorizer_is_a_token_authorizer_on_the_authorization_header_cached_five_minutes(
    translated: dict[str, Any],
) -> None:
    definition = api_body(translated)["securityDefinitions"]["JwtAuthorizer"]
    authorizer = definition["x-amazon-apigateway-authorizer"]

    assert (definition["type"], definition["in"], definition["name"]) == ("apiKey", "header", "Authorization")
    assert definition["x-amazon-apigateway-authtype"] == "custom"
    assert authorizer["type"] == "token"
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    assert references(authorizer["authorizerUri"]) == {"AuthorizerFunction"}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.operation_id)
def test_public_routes_have_no_authorizer_and_every_other_route_has_the_jwt_one(
    translated: dict[str, Any], route: Any
) -> None:
    operation = api_body(translated)["paths"][route.path][route.method.lower()]

    assert operation["security"] == ([{"NONE": []}] if route.public else [{"JwtAuthorizer": []}])
    assert references(operation["x-amazon-apigateway-integration"]["uri"]) == {route.function}


def test_the_api_has_no_route_the_route_table_does_not_know(translated: dict[str, Any]) -> None:
    operations = {(path, method.upper()) for path, item in api_body(translated)["paths"].items() for method in item}

    assert operations == {(route.path, route.method) for route in ROUTES}


def test_the_gateways_own_answers_carry_the_security_headers(translated: dict[str, Any]) -> None:
    responses = api_body(translated)["x-amazon-apigateway-gateway-responses"]

    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = responses[kind]["responseParameters"]
        assert headers["gatewayresponse.header.Strict-Transport-Security"].startswith("'max-age=")
        assert headers["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'"
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"


def test_what_moto_ignores_is_in_the_translated_template(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    table = resources["ShopTable"]["Properties"]
    layers = {name: resource["Properties"].get("Layers") for name, resource in resources.items() if name in FUNCTIONS}

    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert resources["ShopTable"]["DeletionPolicy"] == "Retain"
    assert all(
        len(layer) == 1 and references(layer) <= {n for n in resources if n.startswith("ShopLayer")}
        for layer in layers.values()
    )
    assert resources["SigningKeySecret"]["Type"] == "AWS::SecretsManager::Secret"


@pytest.mark.parametrize("environment", sorted(SAMCONFIG_ENVIRONMENTS))
def test_samconfig_has_a_deployable_environment(environment: str) -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    deploy = config[SAMCONFIG_ENVIRONMENTS[environment]]["deploy"]["parameters"]

    overrides = dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"]))

    assert deploy["stack_name"] == f"shop-api-{environment}"
    assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", deploy["region"])
    assert "CAPABILITY_IAM" in deploy["capabilities"].split()
    assert overrides["Stage"] == environment
    # Raises on an override the template does not declare, or one outside its constraints.
    resolved = resolve_parameters(load_template(TEMPLATE), overrides)
    assert {name: resolved[name] for name in overrides} == overrides


class _PlaceholderResources:
    """Ref and Fn::GetAtt of the resources as placeholders: only the shape of the environment counts."""

    def ref(self, logical_id: str) -> object:
        return f"<{logical_id}>"

    def get_att(self, logical_id: str, attribute: str) -> object:
        return f"<{logical_id}.{attribute}>"


def lambda_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every AWS::Lambda::Function of the translated template, whatever its name: new ones are checked too."""
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def deployed_environments(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each function's environment as CloudFormation resolves it with these parameters."""
    parameters = {
        **pseudo_parameters(region=REGION, account_id="123456789012", stack_name=STACK_NAME),
        **resolve_parameters(template, overrides),
    }
    resolver = IntrinsicResolver(template, parameters, _PlaceholderResources())
    return {
        name: resolver.resolve(resource["Properties"].get("Environment", {})).get("Variables", {})
        for name, resource in lambda_functions(template).items()
    }


def samconfig_overrides(environment: str) -> dict[str, str]:
    config = tomllib.loads(SAMCONFIG.read_text())
    deploy = config[SAMCONFIG_ENVIRONMENTS[environment]]["deploy"]["parameters"]
    return dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"]))


def test_every_function_declares_the_endpoint_variable_so_sam_local_can_set_it(translated: dict[str, Any]) -> None:
    functions = lambda_functions(translated)

    undeclared = sorted(
        name for name, resource in functions.items()
        if ENDPOINT_VARIABLE not in resource["Properties"].get("Environment", {}).get("Variables", {})
    )  # fmt: skip

    assert functions
    assert undeclared == []


@pytest.mark.parametrize("environment", sorted(SAMCONFIG_ENVIRONMENTS))
def test_no_deployed_function_has_an_endpoint_variable(translated: dict[str, Any], environment: str) -> None:
    environments = deployed_environments(translated, samconfig_overrides(environment))

    with_endpoint = {
        name: sorted(variable for variable in variables if variable.startswith(ENDPOINT_VARIABLE))
        for name, variables in environments.items()
    }

    assert environments.keys() == lambda_functions(translated).keys()
    assert all(variables == [] for variables in with_endpoint.values()), with_endpoint


def test_the_stack_moto_deployed_gives_no_function_an_endpoint_variable(deployed: DeployedStack) -> None:
    with_endpoint = {
        name: sorted(variable for variable in configuration["Environment"]["Variables"] if variable.startswith("AWS_"))
        for name, configuration in deployed.functions.items()
    }

    assert all(variables == [] for variables in with_endpoint.values()), with_endpoint


def test_with_a_local_endpoint_every_function_gets_it(translated: dict[str, Any]) -> None:
    endpoint = "http://host.docker.internal:4566"

    environments = deployed_environments(translated, {"LocalEndpointUrl": endpoint})

    assert {name: variables.get(ENDPOINT_VARIABLE) for name, variables in environments.items()} == dict.fromkeys(
        lambda_functions(translated), endpoint
    )


@pytest.mark.parametrize("endpoint", ["https://lambda.us-east-1.amazonaws.com", "http://203.0.113.7:4566"])
def test_the_endpoint_parameter_refuses_an_address_beyond_this_machine_and_its_network(endpoint: str) -> None:
    with pytest.raises(TemplateError, match="LocalEndpointUrl"):
        resolve_parameters(load_template(TEMPLATE), {"LocalEndpointUrl": endpoint})


def test_samconfig_runs_sam_local_with_the_env_file_of_localcloud(translated: dict[str, Any]) -> None:
    local = tomllib.loads(SAMCONFIG.read_text())["local"]

    assert local["local_invoke"]["parameters"]["env_vars"] == "env.json"
    assert local["local_start_api"]["parameters"]["env_vars"] == "env.json"
    # Not the port of `make run`'s own API.
    assert local["local_start_api"]["parameters"]["port"] != 3000
