"""Creates a SAM template's resources in the AWS emulator and describes the stack localcloud runs."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from localcloud.spec import (
    ApiEventSpec,
    ApiSpec,
    AsyncInvokeSpec,
    AuthorizerSpec,
    CorsSpec,
    FunctionSpec,
    ScheduleEventSpec,
    SqsEventSpec,
    StackSpec,
)
from localcloud.template import (
    NO_VALUE,
    IntrinsicResolver,
    TemplateError,
    UnresolvableError,
    as_bool,
    as_int,
    dependency_order,
    is_intrinsic,
    load_template,
    properties_with_globals,
    pseudo_parameters,
    references,
    resolve_parameters,
    scalar_text,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

IMPLICIT_API_ID: Final = "ServerlessRestApi"
IMPLICIT_API_STAGE: Final = "Prod"
_FAKE_CREDENTIAL: Final = "test"
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
_SERVERLESS_TYPE_PREFIX: Final = "AWS::Serverless::"

_IAM_NOTE: Final = "IAM roles and policies (AWS::IAM::* resources, function Role and Policies) are not enforced locally"
_DYNAMODB_SSE_NOTE: Final = "DynamoDB SSESpecification is accepted but not emulated (moto ignores encryption at rest)"
_SQS_SSE_NOTE: Final = "SQS server-side encryption settings are accepted but not emulated"
_RESOURCE_POLICY_NOTE: Final = "is accepted; resource policies are not enforced locally"

_NOT_EMULATED_PROPERTIES: Final[Mapping[str, Mapping[str, str]]] = {
    "AWS::DynamoDB::Table": {
        "SSESpecification": _DYNAMODB_SSE_NOTE,
        "PointInTimeRecoverySpecification": (
            "DynamoDB PointInTimeRecoverySpecification is accepted but not emulated (moto keeps no backups)"
        ),
        "KinesisStreamSpecification": "DynamoDB KinesisStreamSpecification is not emulated",
        "ContributorInsightsSpecification": "DynamoDB ContributorInsightsSpecification is not emulated",
        "ImportSourceSpecification": "DynamoDB ImportSourceSpecification is not emulated (tables start empty)",
    },
    "AWS::Serverless::SimpleTable": {"SSESpecification": _DYNAMODB_SSE_NOTE},
    "AWS::SQS::Queue": {
        "KmsMasterKeyId": _SQS_SSE_NOTE,
        "KmsDataKeyReusePeriodSeconds": _SQS_SSE_NOTE,
        "SqsManagedSseEnabled": _SQS_SSE_NOTE,
    },
    "AWS::SNS::Topic": {"KmsMasterKeyId": "SNS server-side encryption is accepted but not emulated"},
    "AWS::SecretsManager::Secret": {
        "KmsKeyId": "Secrets Manager KmsKeyId is accepted but not emulated",
        "ReplicaRegions": "Secrets Manager ReplicaRegions are not emulated",
    },
    "AWS::Logs::LogGroup": {
        "KmsKeyId": "CloudWatch Logs KmsKeyId is accepted but not emulated",
        "DataProtectionPolicy": "CloudWatch Logs DataProtectionPolicy is not emulated",
    },
    "AWS::SES::EmailIdentity": {
        "DkimSigningAttributes": "SES EmailIdentity DKIM settings are not emulated",
        "FeedbackAttributes": "SES EmailIdentity FeedbackAttributes are not emulated",
        "MailFromAttributes": "SES EmailIdentity MailFromAttributes are not emulated",
        "ConfigurationSetAttributes": "SES EmailIdentity ConfigurationSetAttributes are not emulated",
    },
    "AWS::Serverless::Function": {
        prop: f"function property {prop} is not emulated"
        for prop in (
            "DeploymentPreference",
            "EphemeralStorage",
            "FileSystemConfigs",
            "FunctionUrlConfig",
            "ProvisionedConcurrencyConfig",
            "SnapStart",
            "Tracing",
            "VpcConfig",
        )
    },
    "AWS::Serverless::Api": {
        "MethodSettings": "API Gateway MethodSettings (throttling, caching, logging) are not emulated",
        **{
            prop: f"API property {prop} is not emulated"
            for prop in (
                "AccessLogSetting",
                "CacheClusterEnabled",
                "CanarySetting",
                "DefinitionBody",
                "DefinitionUri",
                "Domain",
                "GatewayResponses",
                "MinimumCompressionSize",
                "Models",
                "TracingEnabled",
                "Variables",
            )
        },
    },
}
_NOT_EMULATED_API_AUTH: Final = ("ApiKeyRequired", "InvokeRole", "ResourcePolicy", "UsagePlan")
_NOT_EMULATED_EVENT_PROPERTIES: Final[Mapping[str, tuple[str, ...]]] = {
    "SQS": ("FilterCriteria", "MetricsConfig"),
    "Schedule": ("DeadLetterConfig", "RetryPolicy"),
    "ScheduleV2": (
        "DeadLetterConfig",
        "RetryPolicy",
        "ScheduleExpressionTimezone",
        "FlexibleTimeWindow",
        "StartDate",
        "EndDate",
    ),
}
_RESOURCE_POLICY_TYPES: Final = ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy")
_ASYNC_DESTINATION_TYPES: Final = ("SQS", "SNS", "Lambda")

_QUEUE_ATTRIBUTE_NAMES: tuple[QueueAttributeNameType, ...] = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)
_ALARM_TEXT_KEYS: Final = (
    "AlarmDescription",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Unit",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "ThresholdMetricId",
)
_ALARM_ACTION_KEYS: Final = ("AlarmActions", "OKActions", "InsufficientDataActions")
_ALARM_INT_KEYS: Final = ("Period", "EvaluationPeriods", "DatapointsToAlarm")
_SIMPLE_TABLE_KEY_TYPES: Final = {"String": "S", "Number": "N", "Binary": "B"}
_PASSWORD_CLASSES: Final = (
    ("ExcludeLowercase", string.ascii_lowercase),
    ("ExcludeUppercase", string.ascii_uppercase),
    ("ExcludeNumbers", string.digits),
    ("ExcludePunctuation", string.punctuation),
)
_REQUEST_IDENTITY_SOURCES: Final = (
    ("Headers", "method.request.header."),
    ("QueryStrings", "method.request.querystring."),
    ("StageVariables", "stageVariables."),
    ("Context", "context."),
)


@dataclass(frozen=True)
class ProvisionedResource:
    """One template resource after provisioning."""

    logical_id: str
    resource_type: str
    physical_id: str
    # created: made in the emulator by this run; existing: left from an earlier run and reused;
    # local: nothing to create in the emulator (functions, layers, APIs run inside localcloud).
    status: Literal["created", "existing", "local"]


@dataclass(frozen=True)
class ProvisionReport:
    """What a provisioning run did, for the CLI to list, and the stack it resolved."""

    stack_name: str
    stack: StackSpec
    resources: tuple[ProvisionedResource, ...]
    rest_api_ids: Mapping[str, str]

    def summary_lines(self) -> tuple[str, ...]:
        """One aligned line per resource: status, type, logical id and physical id."""
        type_width = max((len(resource.resource_type) for resource in self.resources), default=0)
        return tuple(
            f"{r.status:<8} {r.resource_type:<{type_width}} {r.logical_id} -> {r.physical_id}" for r in self.resources
        )


def provision(
    template_path: Path,
    *,
    endpoint_url: str | None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    stack_name: str | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> StackSpec:
    """Creates (or reuses) the template's resources in the emulator and returns the resolved stack."""
    return provision_stack(
        template_path,
        endpoint_url=endpoint_url,
        region=region,
        account_id=account_id,
        stack_name=stack_name,
        parameter_overrides=parameter_overrides,
    ).stack


def provision_stack(
    template_path: Path,
    *,
    endpoint_url: str | None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    stack_name: str | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> ProvisionReport:
    """Like `provision`, also reporting each resource's physical id and whether it was created or reused."""
    path = template_path.resolve()
    name = stack_name if stack_name is not None else default_stack_name(path)
    if not _STACK_NAME.fullmatch(name):
        raise ValueError(f"stack name {name!r}: use a letter, then letters, digits and hyphens (at most 128)")
    provisioner = _Provisioner(
        template=load_template(path),
        template_dir=path.parent,
        stack_name=name,
        region=region,
        account_id=account_id,
        clients=_Clients(endpoint_url, region),
        parameter_overrides=parameter_overrides or {},
    )
    try:
        return provisioner.run()
    except EndpointConnectionError as error:
        raise ConnectionError(f"cannot reach the AWS emulator at {error.kwargs.get('endpoint_url')}") from error


def default_stack_name(template_path: Path) -> str:
    """The stack name used when none is given: the template folder's name, made a valid stack name."""
    folder = template_path.resolve().parent.name
    name = re.sub(r"[^A-Za-z0-9-]+", "-", folder).strip("-")
    name = re.sub(r"^[^A-Za-z]+", "", name)[:128]
    return name or "stack"


def rest_api_id(*, stack_name: str, logical_id: str, region: str, account_id: str) -> str:
    """The stable stand-in for a REST API's id: ten lowercase letters and digits, like API Gateway's."""
    return _short_id(f"{account_id}/{region}/{stack_name}/{logical_id}")


def _short_id(seed: str) -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    alphabet = string.ascii_lowercase + string.digits
    characters = []
    for _ in range(10):
        number, index = divmod(number, len(alphabet))
        characters.append(alphabet[index])
    return "".join(characters)


def generate_password(rules: Mapping[str, Any]) -> str:
    """A random password following Secrets Manager's GenerateSecretString rules."""
    length = as_int(rules.get("PasswordLength", 32), "GenerateSecretString PasswordLength")
    if not 1 <= length <= 4096:
        raise TemplateError(f"GenerateSecretString PasswordLength must be 1 to 4096, not {length}")
    excluded = set(scalar_text(rules.get("ExcludeCharacters", ""), "GenerateSecretString ExcludeCharacters"))
    classes = [
        "".join(character for character in characters if character not in excluded)
        for rule, characters in _PASSWORD_CLASSES
        if not as_bool(rules.get(rule, False), f"GenerateSecretString {rule}")
    ]
    classes = [characters for characters in classes if characters]
    alphabet = "".join(classes)
    if as_bool(rules.get("IncludeSpace", False), "GenerateSecretString IncludeSpace") and " " not in excluded:
        alphabet += " "
    if not alphabet:
        raise TemplateError("GenerateSecretString excludes every character")
    generator = secrets.SystemRandom()
    required = as_bool(rules.get("RequireEachIncludedType", True), "GenerateSecretString RequireEachIncludedType")
    characters = [generator.choice(characters) for characters in classes] if required else []
    if len(characters) > length:
        raise TemplateError(f"GenerateSecretString PasswordLength {length} is too short to include every type")
    characters += [generator.choice(alphabet) for _ in range(length - len(characters))]
    generator.shuffle(characters)
    return "".join(characters)


def _physical_name(explicit: object, stack_name: str, logical_id: str, *, max_length: int, suffix: str = "") -> str:
    if explicit is not None:
        return scalar_text(explicit, f"{logical_id} name")
    name = f"{stack_name}-{logical_id}"
    if len(name) + len(suffix) > max_length:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: max_length - len(suffix) - len(digest) - 1]}-{digest}"
    return name + suffix


def _declared_variables(environment: Any) -> frozenset[str]:
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    return frozenset(variables) if isinstance(variables, dict) and not is_intrinsic(variables) else frozenset()


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _unquote(value: object, what: str) -> str:
    # SAM's Cors values are header values wrapped in single quotes: "'*'".
    text = scalar_text(value, what).strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _tag_list(tags: object) -> list[dict[str, str]]:
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": scalar_text(value, f"tag {key}")} for key, value in tags.items()]
    if isinstance(tags, list):
        return [{"Key": scalar_text(tag["Key"]), "Value": scalar_text(tag["Value"])} for tag in tags]
    return []


def _tag_map(tags: object) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in _tag_list(tags)}


# Service models are read-only; sharing their loader spares every provisioning run reading them from disk again.
_SERVICE_MODEL_LOADER: Final = botocore.loaders.create_loader()


class _Clients:
    """boto3 clients of the emulator, made on first use and shared through one session."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._endpoint_url = endpoint_url
        botocore_session = botocore.session.get_session()
        botocore_session.register_component("data_loader", _SERVICE_MODEL_LOADER)
        self._session = boto3.session.Session(
            aws_access_key_id=_FAKE_CREDENTIAL,
            aws_secret_access_key=_FAKE_CREDENTIAL,
            region_name=region,
            botocore_session=botocore_session,
        )
        self._config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})
        self._made: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self._session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self._endpoint_url,
                config=self._config,
            )
        return self._made[service]

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self._client("secretsmanager")
        return client

    @property
    def sesv2(self) -> SESV2Client:
        client: SESV2Client = self._client("sesv2")
        return client

    @property
    def ses(self) -> Any:
        # No mypy-boto3-ses stubs are installed; only two SES v1 calls are made.
        return self._client("ses")

    @property
    def sns(self) -> SNSClient:
        client: SNSClient = self._client("sns")
        return client

    @property
    def cloudwatch(self) -> CloudWatchClient:
        client: CloudWatchClient = self._client("cloudwatch")
        return client

    @property
    def logs(self) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = self._client("logs")
        return client


class _Notes:
    """The `unsupported` lines: deduplicated, in first-seen order, each naming what it concerns."""

    def __init__(self) -> None:
        self._subjects: dict[str, list[str]] = {}

    def add(self, line: str, subject: str | None = None) -> None:
        subjects = self._subjects.setdefault(line, [])
        if subject is not None and subject not in subjects:
            subjects.append(subject)

    def lines(self) -> tuple[str, ...]:
        return tuple(
            f"{line}: {', '.join(subjects)}" if subjects else line for line, subjects in self._subjects.items()
        )


@dataclass(frozen=True)
class _Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _LocalFunction:
    resource: _Resource
    name: str
    arn: str
    runtime: str
    code_dir: Path


class _CreatedResources:
    """What `Ref` and `Fn::GetAtt` return for the resources provisioned so far."""

    def __init__(self, declared: Mapping[str, Any]) -> None:
        self._serverless_ids = [IMPLICIT_API_ID] + [
            logical_id
            for logical_id, resource in declared.items()
            if isinstance(resource, dict) and str(resource.get("Type", "")).startswith(_SERVERLESS_TYPE_PREFIX)
        ]
        self._declared = declared
        self._values: dict[str, tuple[object, Mapping[str, object]]] = {}
        self._unavailable: dict[str, str] = {}

    def add(self, logical_id: str, ref: object, attributes: Mapping[str, object]) -> None:
        self._values[logical_id] = (ref, attributes)

    def mark_unavailable(self, logical_id: str, reason: str) -> None:
        self._unavailable[logical_id] = reason

    def ref(self, logical_id: str) -> object:
        # SAM lets `Ref: MyApi.Stage` name a property of the resources it generates.
        base, dot, attribute = logical_id.partition(".")
        if dot:
            return self.get_att(base, attribute)
        return self._entry(logical_id)[0]

    def get_att(self, logical_id: str, attribute: str) -> object:
        attributes = self._entry(logical_id)[1]
        if attribute not in attributes:
            raise UnresolvableError(f"{logical_id} has no attribute {attribute} locally")
        return attributes[attribute]

    def _entry(self, logical_id: str) -> tuple[object, Mapping[str, object]]:
        if logical_id in self._values:
            return self._values[logical_id]
        if logical_id in self._unavailable:
            raise UnresolvableError(f"{logical_id} {self._unavailable[logical_id]}")
        if logical_id in self._declared:
            raise UnresolvableError(f"{logical_id} is not created yet")
        source = next((sam_id for sam_id in self._serverless_ids if logical_id.startswith(sam_id)), None)
        if source is not None:
            raise UnresolvableError(f"{logical_id} would be generated by SAM from {source} and is not emulated")
        raise TemplateError(f"{logical_id} is neither a parameter nor a resource of the template")


class _Provisioner:
    def __init__(
        self,
        *,
        template: Mapping[str, Any],
        template_dir: Path,
        stack_name: str,
        region: str,
        account_id: str,
        clients: _Clients,
        parameter_overrides: Mapping[str, str],
    ) -> None:
        self._template = template
        self._template_dir = template_dir
        self._stack_name = stack_name
        self._region = region
        self._account_id = account_id
        self._clients = clients
        pseudo = pseudo_parameters(region=region, account_id=account_id, stack_name=stack_name)
        self._partition = scalar_text(pseudo["AWS::Partition"])
        parameters = {**pseudo, **resolve_parameters(template, parameter_overrides)}
        self._created = _CreatedResources(template["Resources"])
        self._resolver = IntrinsicResolver(template, parameters, self._created)
        self._notes = _Notes()
        self._report: list[ProvisionedResource] = []
        self._functions: dict[str, _LocalFunction] = {}
        self._layer_dirs: dict[str, Path] = {}
        self._apis: dict[str, tuple[_Resource, str]] = {}
        self._rest_api_ids: dict[str, str] = {}
        self._queue_urls_by_arn: dict[str, str] = {}
        self._handlers: dict[str, Callable[[_Resource], None]] = {
            "AWS::DynamoDB::Table": self._provision_table,
            "AWS::Serverless::SimpleTable": self._provision_simple_table,
            "AWS::SQS::Queue": self._provision_queue,
            "AWS::SecretsManager::Secret": self._provision_secret,
            "AWS::SES::EmailIdentity": self._provision_email_identity,
            "AWS::SNS::Topic": self._provision_topic,
            "AWS::SNS::Subscription": self._provision_subscription,
            "AWS::CloudWatch::Alarm": self._provision_alarm,
            "AWS::Logs::LogGroup": self._provision_log_group,
            "AWS::Serverless::LayerVersion": self._provision_layer,
            "AWS::Serverless::Function": self._provision_function,
            "AWS::Serverless::Api": self._provision_api,
        }

    def run(self) -> ProvisionReport:
        self._note_transforms()
        resources = self._active_resources()
        order = dependency_order({logical_id: self._dependencies(r) for logical_id, r in resources.items()})
        for logical_id in order:
            self._provision_resource(resources[logical_id])
        apis = self._api_specs()
        functions = {
            logical_id: self._function_spec(function, apis) for logical_id, function in self._functions.items()
        }
        stack = StackSpec(
            region=self._region,
            account_id=self._account_id,
            functions=functions,
            apis=apis,
            outputs=self._outputs(),
            unsupported=self._notes.lines(),
        )
        return ProvisionReport(
            stack_name=self._stack_name,
            stack=stack,
            resources=tuple(self._report),
            rest_api_ids=dict(self._rest_api_ids),
        )

    # Reading the template.

    def _note_transforms(self) -> None:
        transform = self._template.get("Transform")
        transforms = transform if isinstance(transform, list) else [transform] if transform else []
        for name in transforms:
            if name != "AWS::Serverless-2016-10-31":
                self._notes.add(f"template transform {name} is not applied")

    def _active_resources(self) -> dict[str, _Resource]:
        active: dict[str, _Resource] = {}
        for logical_id, declaration in self._template["Resources"].items():
            if not isinstance(declaration, dict) or not isinstance(declaration.get("Type"), str):
                raise TemplateError(f"resource {logical_id}: a resource needs a Type")
            condition = declaration.get("Condition")
            if condition is not None and not self._resolver.condition(str(condition)):
                self._created.mark_unavailable(logical_id, f"is not created: its condition {condition} is false")
                continue
            properties = declaration.get("Properties") or {}
            if not isinstance(properties, dict):
                raise TemplateError(f"resource {logical_id}: Properties must be a mapping")
            depends_on = declaration.get("DependsOn") or []
            active[logical_id] = _Resource(
                logical_id=logical_id,
                type=declaration["Type"],
                properties=properties_with_globals(self._template, declaration["Type"], properties),
                depends_on=tuple([depends_on] if isinstance(depends_on, str) else depends_on),
                metadata=declaration.get("Metadata") or {},
            )
        if IMPLICIT_API_ID not in active and any(_uses_implicit_api(resource) for resource in active.values()):
            properties = properties_with_globals(
                self._template, "AWS::Serverless::Api", {"StageName": IMPLICIT_API_STAGE}
            )
            implicit = _Resource(IMPLICIT_API_ID, "AWS::Serverless::Api", properties)
            active = {IMPLICIT_API_ID: implicit, **active}
        return active

    def _dependencies(self, resource: _Resource) -> set[str]:
        # Functions and APIs are only named while provisioning; their environment, events and
        # authorizers are resolved once every resource exists, so only the naming properties count.
        properties = resource.properties
        if resource.type == "AWS::Serverless::Function":
            naming = ("FunctionName", "Runtime", "CodeUri", "PackageType", "Layers")
            properties = {key: value for key, value in properties.items() if key in naming}
        elif resource.type == "AWS::Serverless::Api":
            properties = {"StageName": properties.get("StageName")}
        return references(properties) | set(resource.depends_on)

    def _resolve(self, value: Any) -> Any:
        return self._resolver.resolve(value)

    def _resolved(self, resource: _Resource, keys: tuple[str, ...]) -> dict[str, Any]:
        resolved = {key: self._resolve(resource.properties[key]) for key in keys if key in resource.properties}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _name(self, explicit: object, logical_id: str, *, max_length: int, suffix: str = "") -> str:
        return _physical_name(explicit, self._stack_name, logical_id, max_length=max_length, suffix=suffix)

    def _local_dir(self, uri: str, logical_id: str, prop: str) -> Path:
        folder = (self._template_dir / uri).resolve()
        if not folder.is_dir():
            raise TemplateError(f"{logical_id}: {prop} {uri!r} is not a folder ({folder})")
        if (folder / "requirements.txt").is_file():
            self._notes.add(
                "requirements.txt files are not installed; their packages must already be importable", logical_id
            )
        return folder

    def _record(
        self,
        resource: _Resource,
        physical_id: str,
        status: Literal["created", "existing", "local"],
        ref: object,
        attributes: Mapping[str, object],
    ) -> None:
        self._created.add(resource.logical_id, ref, attributes)
        self._report.append(ProvisionedResource(resource.logical_id, resource.type, physical_id, status))

    # Provisioning, resource by resource.

    def _provision_resource(self, resource: _Resource) -> None:
        handler = self._handlers.get(resource.type)
        if handler is None:
            self._note_unemulated_type(resource)
            return
        try:
            handler(resource)
        except UnresolvableError as error:
            self._notes.add(f"{resource.logical_id} ({resource.type}) is skipped: {error}")
            self._created.mark_unavailable(resource.logical_id, f"is skipped ({error})")
            return
        for prop, line in _NOT_EMULATED_PROPERTIES.get(resource.type, {}).items():
            if prop in resource.properties:
                self._notes.add(line, resource.logical_id)

    def _note_unemulated_type(self, resource: _Resource) -> None:
        if resource.type.startswith("AWS::IAM::"):
            self._notes.add(_IAM_NOTE)
        elif resource.type in _RESOURCE_POLICY_TYPES:
            self._notes.add(f"{resource.type} {_RESOURCE_POLICY_NOTE}", resource.logical_id)
        else:
            self._notes.add(f"{resource.type} is not emulated", resource.logical_id)
        self._created.mark_unavailable(resource.logical_id, f"({resource.type}) is not emulated")

    def _provision_table(self, resource: _Resource) -> None:
        keys = (
            "TableName",
            "KeySchema",
            "AttributeDefinitions",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "StreamSpecification",
            "TableClass",
            "DeletionProtectionEnabled",
            "Tags",
            "TimeToLiveSpecification",
        )
        properties = self._resolved(resource, keys)
        name = self._name(properties.get("TableName"), resource.logical_id, max_length=255)
        request = _table_request(name, properties, resource.logical_id)
        self._ensure_table(resource, request, properties.get("TimeToLiveSpecification"))

    def _provision_simple_table(self, resource: _Resource) -> None:
        properties = self._resolved(resource, ("TableName", "PrimaryKey", "ProvisionedThroughput", "Tags"))
        name = self._name(properties.get("TableName"), resource.logical_id, max_length=255)
        key = properties.get("PrimaryKey") or {}
        key_name = scalar_text(key.get("Name", "id"), f"{resource.logical_id} PrimaryKey Name")
        key_type = scalar_text(key.get("Type", "String"), f"{resource.logical_id} PrimaryKey Type")
        if key_type not in _SIMPLE_TABLE_KEY_TYPES:
            raise TemplateError(f"{resource.logical_id}: PrimaryKey Type must be String, Number or Binary")
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": key_name, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key_name, "AttributeType": _SIMPLE_TABLE_KEY_TYPES[key_type]}],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if "ProvisionedThroughput" in properties:
            request["BillingMode"] = "PROVISIONED"
            request["ProvisionedThroughput"] = _throughput(properties["ProvisionedThroughput"], resource.logical_id)
        if properties.get("Tags"):
            request["Tags"] = _tag_list(properties["Tags"])
        self._ensure_table(resource, request, None)

    def _ensure_table(self, resource: _Resource, request: dict[str, Any], ttl: Any) -> None:
        dynamodb = self._clients.dynamodb
        name = request["TableName"]
        existing = self._describe_table(name)
        if existing is None:
            dynamodb.create_table(**request)
        else:
            present = {index["IndexName"] for index in existing.get("GlobalSecondaryIndexes", [])}
            for index in request.get("GlobalSecondaryIndexes", []):
                if index["IndexName"] not in present:
                    dynamodb.update_table(
                        TableName=name,
                        AttributeDefinitions=request["AttributeDefinitions"],
                        GlobalSecondaryIndexUpdates=[{"Create": index}],
                    )
        if ttl and as_bool(ttl.get("Enabled", False), f"{resource.logical_id} TimeToLiveSpecification Enabled"):
            self._enable_ttl(name, scalar_text(ttl.get("AttributeName"), f"{resource.logical_id} TTL AttributeName"))
        table = self._describe_table(name) or {}
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        self._record(resource, name, "created" if existing is None else "existing", name, attributes)

    def _describe_table(self, name: str) -> Any:
        try:
            return self._clients.dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def _enable_ttl(self, table_name: str, attribute_name: str) -> None:
        dynamodb = self._clients.dynamodb
        current = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") == "ENABLED" and current.get("AttributeName") == attribute_name:
            return
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute_name}
        )

    def _provision_queue(self, resource: _Resource) -> None:
        keys = ("QueueName", "FifoQueue", "RedrivePolicy", "RedriveAllowPolicy", "Tags", *_QUEUE_ATTRIBUTE_NAMES)
        properties = self._resolved(resource, keys)
        fifo = as_bool(properties.get("FifoQueue", False), f"{resource.logical_id} FifoQueue")
        suffix = ".fifo" if fifo else ""
        name = self._name(properties.get("QueueName"), resource.logical_id, max_length=80, suffix=suffix)
        if fifo and not name.endswith(".fifo"):
            raise TemplateError(f"{resource.logical_id}: a FIFO queue's QueueName must end with .fifo, not {name!r}")
        attributes: dict[QueueAttributeNameType, str] = {
            key: scalar_text(properties[key], f"{resource.logical_id} {key}")
            for key in _QUEUE_ATTRIBUTE_NAMES
            if key in properties
        }
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = _json_text(properties["RedrivePolicy"])
        if "RedriveAllowPolicy" in properties:
            attributes["RedriveAllowPolicy"] = _json_text(properties["RedriveAllowPolicy"])
        sqs = self._clients.sqs
        url = self._queue_url(name)
        status: Literal["created", "existing"] = "existing" if url else "created"
        if url is None:
            create_attributes: dict[QueueAttributeNameType, str] = {
                **attributes,
                **({"FifoQueue": "true"} if fifo else {}),
            }
            url = sqs.create_queue(QueueName=name, Attributes=create_attributes, tags=_tag_map(properties.get("Tags")))[
                "QueueUrl"
            ]
        elif attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._queue_urls_by_arn[arn] = url
        self._record(resource, name, status, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _queue_url(self, name: str) -> str | None:
        try:
            return self._clients.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as error:
            if _error_code(error) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return None
            raise

    def _provision_secret(self, resource: _Resource) -> None:
        properties = self._resolved(resource, ("Name", "Description", "SecretString", "GenerateSecretString", "Tags"))
        name = self._name(properties.get("Name"), resource.logical_id, max_length=512)
        manager = self._clients.secretsmanager
        try:
            existing = manager.describe_secret(SecretId=name)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
            existing = None
        if existing is not None:
            # The value is never regenerated: tokens signed with it stay valid across restarts.
            if "DeletedDate" in existing:
                manager.restore_secret(SecretId=name)
            arn = existing["ARN"]
        else:
            request: dict[str, Any] = {"Name": name}
            value = _secret_value(resource.logical_id, properties)
            if value is not None:
                request["SecretString"] = value
            if "Description" in properties:
                request["Description"] = scalar_text(properties["Description"])
            if properties.get("Tags"):
                request["Tags"] = _tag_list(properties["Tags"])
            arn = manager.create_secret(**request)["ARN"]
        self._record(resource, name, "existing" if existing else "created", arn, {"Id": arn})

    def _provision_email_identity(self, resource: _Resource) -> None:
        identity = self._resolver.resolve_text(
            resource.properties.get("EmailIdentity"), f"{resource.logical_id} EmailIdentity"
        )
        sesv2 = self._clients.sesv2
        try:
            sesv2.get_email_identity(EmailIdentity=identity)
            status: Literal["created", "existing"] = "existing"
        except ClientError as error:
            if _error_code(error) != "NotFoundException":
                raise
            sesv2.create_email_identity(EmailIdentity=identity)
            status = "created"
        # moto refuses to send from an identity that SES v1 does not list as verified.
        if "@" in identity:
            self._clients.ses.verify_email_identity(EmailAddress=identity)
        else:
            self._clients.ses.verify_domain_identity(Domain=identity)
        self._record(resource, identity, status, identity, {})

    def _provision_topic(self, resource: _Resource) -> None:
        keys = ("TopicName", "FifoTopic", "ContentBasedDeduplication", "DisplayName", "Subscription", "Tags")
        properties = self._resolved(resource, keys)
        fifo = as_bool(properties.get("FifoTopic", False), f"{resource.logical_id} FifoTopic")
        suffix = ".fifo" if fifo else ""
        name = self._name(properties.get("TopicName"), resource.logical_id, max_length=256, suffix=suffix)
        attributes: dict[str, str] = {}
        if fifo:
            attributes["FifoTopic"] = "true"
        for key in ("ContentBasedDeduplication", "DisplayName"):
            if key in properties:
                attributes[key] = scalar_text(properties[key], f"{resource.logical_id} {key}")
        existing = self._topic_arn(name)
        arn = self._clients.sns.create_topic(
            Name=name,
            Attributes=attributes,
            Tags=[{"Key": tag["Key"], "Value": tag["Value"]} for tag in _tag_list(properties.get("Tags"))],
        )["TopicArn"]
        for subscription in properties.get("Subscription") or []:
            protocol = scalar_text(subscription.get("Protocol"), f"{resource.logical_id} Subscription Protocol")
            endpoint = scalar_text(subscription.get("Endpoint"), f"{resource.logical_id} Subscription Endpoint")
            self._subscribe(resource.logical_id, arn, protocol, endpoint, {})
        self._record(resource, name, "existing" if existing else "created", arn, {"TopicArn": arn, "TopicName": name})

    def _topic_arn(self, name: str) -> str | None:
        for page in self._clients.sns.get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                    return topic["TopicArn"]
        return None

    def _provision_subscription(self, resource: _Resource) -> None:
        keys = (
            "TopicArn",
            "Protocol",
            "Endpoint",
            "FilterPolicy",
            "FilterPolicyScope",
            "RawMessageDelivery",
            "RedrivePolicy",
            "DeliveryPolicy",
        )
        properties = self._resolved(resource, keys)
        what = resource.logical_id
        topic_arn = scalar_text(properties.get("TopicArn"), f"{what} TopicArn")
        protocol = scalar_text(properties.get("Protocol"), f"{what} Protocol")
        endpoint = scalar_text(properties.get("Endpoint"), f"{what} Endpoint")
        attributes: dict[str, str] = {
            key: _json_text(properties[key])
            for key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy")
            if key in properties
        }
        if "FilterPolicyScope" in properties:
            attributes["FilterPolicyScope"] = scalar_text(properties["FilterPolicyScope"], f"{what} FilterPolicyScope")
        if "RawMessageDelivery" in properties:
            raw = as_bool(properties["RawMessageDelivery"], f"{what} RawMessageDelivery")
            attributes["RawMessageDelivery"] = scalar_text(raw)
        subscribed = self._subscribe(what, topic_arn, protocol, endpoint, attributes)
        if subscribed is None:
            self._created.mark_unavailable(what, "is not created: lambda subscriptions are not emulated")
            return
        arn, status = subscribed
        self._record(resource, arn, status, arn, {})

    def _subscribe(
        self, subject: str, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]
    ) -> tuple[str, Literal["created", "existing"]] | None:
        if protocol == "lambda":
            self._notes.add("SNS subscriptions with protocol lambda are not delivered to functions locally", subject)
            return None
        sns = self._clients.sns
        existing = [
            subscription
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
            for subscription in page.get("Subscriptions", [])
            if subscription.get("Protocol") == protocol and subscription.get("Endpoint") == endpoint
        ]
        arn = sns.subscribe(
            TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes=attributes, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        return arn, "existing" if existing else "created"

    def _provision_alarm(self, resource: _Resource) -> None:
        keys = (
            "AlarmName",
            "ActionsEnabled",
            "Dimensions",
            "Threshold",
            "Metrics",
            *_ALARM_TEXT_KEYS,
            *_ALARM_ACTION_KEYS,
            *_ALARM_INT_KEYS,
        )
        properties = self._resolved(resource, keys)
        name = self._name(properties.get("AlarmName"), resource.logical_id, max_length=255)
        cloudwatch = self._clients.cloudwatch
        existed = bool(cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms"))
        cloudwatch.put_metric_alarm(AlarmName=name, **_alarm_request(resource.logical_id, properties))
        arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        self._record(resource, name, "existing" if existed else "created", name, {"Arn": arn})

    def _provision_log_group(self, resource: _Resource) -> None:
        properties = self._resolved(resource, ("LogGroupName", "RetentionInDays", "Tags"))
        name = self._name(properties.get("LogGroupName"), resource.logical_id, max_length=512)
        created = self._create_log_group(name, _tag_map(properties.get("Tags")))
        if "RetentionInDays" in properties:
            retention = as_int(properties["RetentionInDays"], f"{resource.logical_id} RetentionInDays")
            self._clients.logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        groups = self._clients.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        arn = next(group["arn"] for group in groups if group.get("logGroupName") == name)
        self._record(resource, name, "created" if created else "existing", name, {"Arn": arn})

    def _create_log_group(self, name: str, tags: dict[str, str]) -> bool:
        try:
            if tags:
                self._clients.logs.create_log_group(logGroupName=name, tags=tags)
            else:
                self._clients.logs.create_log_group(logGroupName=name)
        except ClientError as error:
            if _error_code(error) != "ResourceAlreadyExistsException":
                raise
            return False
        return True

    def _provision_layer(self, resource: _Resource) -> None:
        properties = self._resolved(resource, ("ContentUri", "LayerName"))
        content = properties.get("ContentUri")
        if not isinstance(content, str) or content.startswith("s3://"):
            raise UnresolvableError("ContentUri must be a local folder; layers stored in S3 are not available locally")
        folder = self._local_dir(content, resource.logical_id, "ContentUri")
        build_method = scalar_text(resource.metadata.get("BuildMethod", ""), f"{resource.logical_id} BuildMethod")
        if build_method.startswith("python"):
            # sam build copies a python layer's folder into python/, which Lambda puts on sys.path.
            self._layer_dirs[resource.logical_id] = folder
        else:
            if build_method:
                self._notes.add(
                    f"layer BuildMethod {build_method} is not run; the folder is used as is", resource.logical_id
                )
            built = folder / "python"
            self._layer_dirs[resource.logical_id] = built if built.is_dir() else folder
        name = self._name(properties.get("LayerName"), resource.logical_id, max_length=140)
        arn = f"arn:{self._partition}:lambda:{self._region}:{self._account_id}:layer:{name}:1"
        self._record(resource, arn, "local", arn, {})

    def _provision_function(self, resource: _Resource) -> None:
        properties = resource.properties
        if "Policies" in properties or "Role" in properties:
            self._notes.add(_IAM_NOTE)
        what = resource.logical_id
        if self._resolve(properties.get("PackageType", "Zip")) == "Image":
            raise UnresolvableError("container image functions are not emulated")
        runtime = self._resolver.resolve_text(properties.get("Runtime", ""), f"{what} Runtime")
        if not runtime.startswith("python"):
            raise UnresolvableError(f"runtime {runtime or '(none)'} is not emulated; only Python functions run locally")
        if "InlineCode" in properties:
            raise UnresolvableError("InlineCode is not emulated; use CodeUri")
        code_uri = self._resolve(properties.get("CodeUri", "."))
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            raise UnresolvableError("CodeUri must be a local folder; code stored in S3 is not available locally")
        code_dir = self._local_dir(code_uri, what, "CodeUri")
        explicit_name = self._resolve(properties["FunctionName"]) if "FunctionName" in properties else None
        name = self._name(None if explicit_name is NO_VALUE else explicit_name, what, max_length=64)
        arn = f"arn:{self._partition}:lambda:{self._region}:{self._account_id}:function:{name}"
        self._create_log_group(f"/aws/lambda/{name}", {})
        self._functions[what] = _LocalFunction(resource, name, arn, runtime, code_dir)
        self._record(resource, name, "local", name, {"Arn": arn})

    def _provision_api(self, resource: _Resource) -> None:
        if "StageName" not in resource.properties:
            raise TemplateError(f"{resource.logical_id}: an AWS::Serverless::Api needs a StageName")
        stage = self._resolver.resolve_text(resource.properties["StageName"], f"{resource.logical_id} StageName")
        api_id = rest_api_id(
            stack_name=self._stack_name,
            logical_id=resource.logical_id,
            region=self._region,
            account_id=self._account_id,
        )
        self._rest_api_ids[resource.logical_id] = api_id
        self._apis[resource.logical_id] = (resource, stage)
        root_resource_id = _short_id(f"{api_id}/")
        self._record(resource, api_id, "local", api_id, {"RootResourceId": root_resource_id, "Stage": stage})

    # The stack spec, once every resource exists.

    def _api_specs(self) -> dict[str, ApiSpec]:
        specs: dict[str, ApiSpec] = {}
        for logical_id, (resource, stage) in self._apis.items():
            try:
                specs[logical_id] = self._api_spec(resource, stage)
            except UnresolvableError as error:
                self._notes.add(f"{logical_id} (AWS::Serverless::Api) is skipped: {error}")
        return specs

    def _api_spec(self, resource: _Resource, stage: str) -> ApiSpec:
        what = resource.logical_id
        auth = resource.properties.get("Auth") or {}
        for key in _NOT_EMULATED_API_AUTH:
            if key in auth:
                self._notes.add(f"API Auth {key} is not emulated", what)
        authorizers: dict[str, AuthorizerSpec] = {}
        for name, definition in (auth.get("Authorizers") or {}).items():
            authorizer = self._authorizer_spec(what, name, definition)
            if authorizer is not None:
                authorizers[name] = authorizer
        default = auth.get("DefaultAuthorizer")
        cors = self._resolve(resource.properties.get("Cors"))
        binary_types = self._resolve(resource.properties.get("BinaryMediaTypes") or [])
        return ApiSpec(
            logical_id=what,
            stage=stage,
            default_authorizer=None if default is None else self._authorizer_choice(default, authorizers, what),
            add_default_authorizer_to_cors_preflight=as_bool(
                self._resolve(auth.get("AddDefaultAuthorizerToCorsPreflight", True)),
                f"{what} Auth AddDefaultAuthorizerToCorsPreflight",
            ),
            authorizers=authorizers,
            cors=None if cors is None or cors is NO_VALUE else _cors_spec(cors, what),
            binary_media_types=tuple(scalar_text(kind).replace("~1", "/") for kind in binary_types),
        )

    def _authorizer_choice(self, value: Any, authorizers: Mapping[str, AuthorizerSpec], subject: str) -> str | None:
        name = self._resolver.resolve_text(value, f"{subject} Authorizer")
        if name == "NONE":
            return None
        if name == "AWS_IAM":
            self._notes.add("AWS_IAM authorization is not enforced locally", subject)
            return None
        if name not in authorizers:
            self._notes.add("routes whose authorizer is not emulated are left open", f"{subject} ({name})")
            return None
        return name

    def _authorizer_spec(self, api: str, name: str, definition: Mapping[str, Any]) -> AuthorizerSpec | None:
        subject = f"{api}.{name}"
        if "UserPoolArn" in definition:
            self._notes.add("Cognito user pool authorizers are not emulated", subject)
            return None
        function_id = self._authorizer_function(subject, definition.get("FunctionArn"))
        if function_id is None:
            return None
        payload = self._resolver.resolve_text(definition.get("FunctionPayloadType", "TOKEN"), subject).upper()
        identity = self._resolve(definition.get("Identity") or {})
        ttl = as_int(identity.get("ReauthorizeEvery", 300), f"{subject} ReauthorizeEvery")
        if payload == "TOKEN":
            header = scalar_text(identity.get("Header", "Authorization"), f"{subject} Identity Header")
            validation = identity.get("ValidationExpression")
            return AuthorizerSpec(
                name=name,
                function_logical_id=function_id,
                type="TOKEN",
                identity_sources=(f"method.request.header.{header}",),
                ttl_s=ttl,
                validation_expression=None if validation is None else scalar_text(validation),
            )
        if payload == "REQUEST":
            sources = tuple(
                prefix + scalar_text(item, f"{subject} Identity {key}")
                for key, prefix in _REQUEST_IDENTITY_SOURCES
                for item in identity.get(key) or []
            )
            return AuthorizerSpec(name, function_id, "REQUEST", sources, ttl_s=ttl)
        raise TemplateError(f"authorizer {subject}: FunctionPayloadType must be TOKEN or REQUEST, not {payload}")

    def _authorizer_function(self, subject: str, function_arn: Any) -> str | None:
        try:
            arn = self._resolver.resolve_text(function_arn, f"{subject} FunctionArn")
        except UnresolvableError as error:
            self._notes.add(f"authorizer {subject} is skipped: {error}")
            return None
        by_arn = {function.arn: logical_id for logical_id, function in self._functions.items()}
        if arn not in by_arn:
            self._notes.add("authorizers whose function is not a Python function of the template are skipped", subject)
            return None
        return by_arn[arn]

    def _function_spec(self, function: _LocalFunction, apis: Mapping[str, ApiSpec]) -> FunctionSpec:
        properties = function.resource.properties
        what = function.resource.logical_id
        if "Handler" not in properties:
            raise TemplateError(f"{what}: a function needs a Handler")
        reserved = self._resolve(properties.get("ReservedConcurrentExecutions"))
        api_events, sqs_events, schedule_events = self._events(what, properties.get("Events") or {}, apis)
        alias = self._resolve(properties.get("AutoPublishAlias"))
        return FunctionSpec(
            logical_id=what,
            function_name=function.name,
            arn=function.arn,
            handler=self._resolver.resolve_text(properties["Handler"], f"{what} Handler"),
            runtime=function.runtime,
            code_dir=function.code_dir,
            layer_dirs=self._layers(what, properties.get("Layers") or []),
            environment=self._environment(what, properties.get("Environment") or {}),
            timeout_s=as_int(self._resolve(properties.get("Timeout", 3)), f"{what} Timeout"),
            memory_mb=as_int(self._resolve(properties.get("MemorySize", 128)), f"{what} MemorySize"),
            reserved_concurrency=None if reserved in (None, NO_VALUE) else as_int(reserved, f"{what} Reserved"),
            api_events=tuple(api_events),
            sqs_events=tuple(sqs_events),
            schedule_events=tuple(schedule_events),
            declared_variables=_declared_variables(properties.get("Environment")),
            alias=None if alias in (None, NO_VALUE) else scalar_text(alias, f"{what} AutoPublishAlias"),
            async_invoke=self._async_invoke(what, properties),
            description=scalar_text(self._resolve(properties.get("Description", "")), f"{what} Description"),
        )

    def _async_invoke(self, function_id: str, properties: Mapping[str, Any]) -> AsyncInvokeSpec:
        config = self._resolve(properties.get("EventInvokeConfig") or {})
        destinations = config.get("DestinationConfig") or {}
        dead_letter = self._resolve(properties.get("DeadLetterQueue") or {})
        return AsyncInvokeSpec(
            maximum_retry_attempts=as_int(
                config.get("MaximumRetryAttempts", 2), f"{function_id} EventInvokeConfig MaximumRetryAttempts"
            ),
            maximum_event_age_s=as_int(
                config.get("MaximumEventAgeInSeconds", 21600),
                f"{function_id} EventInvokeConfig MaximumEventAgeInSeconds",
            ),
            on_success=self._destination(function_id, "OnSuccess", destinations.get("OnSuccess")),
            on_failure=self._destination(function_id, "OnFailure", destinations.get("OnFailure")),
            dead_letter_target=(
                scalar_text(dead_letter["TargetArn"], f"{function_id} DeadLetterQueue TargetArn")
                if "TargetArn" in dead_letter
                else None
            ),
        )

    def _destination(self, function_id: str, condition: str, destination: Any) -> str | None:
        if not destination:
            return None
        kind = scalar_text(destination.get("Type", ""), f"{function_id} {condition} Type")
        if kind not in _ASYNC_DESTINATION_TYPES or "Destination" not in destination:
            self._notes.add(
                f"{condition} destinations other than a given SQS queue, SNS topic or Lambda function are not emulated",
                function_id,
            )
            return None
        return scalar_text(destination["Destination"], f"{function_id} {condition} Destination")

    def _environment(self, function_id: str, environment: Any) -> dict[str, str]:
        if is_intrinsic(environment):
            environment = self._resolve(environment)
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        if is_intrinsic(variables):
            variables = self._resolve(variables)
        if not isinstance(variables, dict):
            return {}
        resolved: dict[str, str] = {}
        for name, expression in variables.items():
            try:
                value = self._resolve(expression)
            except UnresolvableError as error:
                self._notes.add(f"environment variable {name} of {function_id} is left unset: {error}")
                continue
            if value is not NO_VALUE:
                resolved[name] = scalar_text(value, f"{function_id} environment variable {name}")
        return resolved

    def _layers(self, function_id: str, layers: list[Any]) -> tuple[Path, ...]:
        folders: list[Path] = []
        for layer in layers:
            target = layer.get("Ref") if isinstance(layer, dict) and len(layer) == 1 else None
            if isinstance(target, str) and target in self._layer_dirs:
                folders.append(self._layer_dirs[target])
            else:
                self._notes.add(
                    "function layers other than an AWS::Serverless::LayerVersion of the template are not available",
                    function_id,
                )
        return tuple(folders)

    def _events(
        self, function_id: str, events: Mapping[str, Any], apis: Mapping[str, ApiSpec]
    ) -> tuple[list[ApiEventSpec], list[SqsEventSpec], list[ScheduleEventSpec]]:
        api_events: list[ApiEventSpec] = []
        sqs_events: list[SqsEventSpec] = []
        schedule_events: list[ScheduleEventSpec] = []
        for event_name, event in events.items():
            event_type = str(event.get("Type"))
            properties = event.get("Properties") or {}
            subject = f"{function_id}.{event_name}"
            for prop in _NOT_EMULATED_EVENT_PROPERTIES.get(event_type, ()):
                if prop in properties:
                    self._notes.add(f"{event_type} event property {prop} is not emulated", subject)
            try:
                if event_type == "Api":
                    api_event = self._api_event(subject, properties, apis)
                    api_events.extend([api_event] if api_event else [])
                elif event_type == "SQS":
                    sqs_events.append(self._sqs_event(subject, properties))
                elif event_type in ("Schedule", "ScheduleV2"):
                    schedule_events.append(self._schedule_event(event_name, event_type, properties))
                else:
                    self._notes.add(f"{event_type} events are not emulated", subject)
            except UnresolvableError as error:
                self._notes.add(f"event {subject} is skipped: {error}")
        return api_events, sqs_events, schedule_events

    def _api_event(
        self, subject: str, properties: Mapping[str, Any], apis: Mapping[str, ApiSpec]
    ) -> ApiEventSpec | None:
        rest_api = properties.get("RestApiId")
        api_id = IMPLICIT_API_ID if rest_api is None else _ref_target(rest_api)
        if api_id is None or api_id not in apis:
            self._notes.add("Api events whose RestApiId is not an emulated AWS::Serverless::Api are skipped", subject)
            return None
        api = apis[api_id]
        auth = properties.get("Auth") or {}
        authorizer = (
            self._authorizer_choice(auth["Authorizer"], api.authorizers, subject)
            if "Authorizer" in auth
            else api.default_authorizer
        )
        return ApiEventSpec(
            api_logical_id=api_id,
            path=self._resolver.resolve_text(properties.get("Path"), f"{subject} Path"),
            method=self._resolver.resolve_text(properties.get("Method"), f"{subject} Method").upper(),
            authorizer=authorizer,
        )

    def _sqs_event(self, subject: str, properties: Mapping[str, Any]) -> SqsEventSpec:
        arn = self._resolver.resolve_text(properties.get("Queue"), f"{subject} Queue")
        url = self._queue_urls_by_arn.get(arn) or self._queue_url(arn.rsplit(":", 1)[-1])
        if url is None:
            raise UnresolvableError(f"queue {arn} does not exist in the emulator")
        response_types = self._resolve(properties.get("FunctionResponseTypes") or [])
        return SqsEventSpec(
            queue_arn=arn,
            queue_url=url,
            batch_size=as_int(self._resolve(properties.get("BatchSize", 10)), f"{subject} BatchSize"),
            maximum_batching_window_s=as_int(
                self._resolve(properties.get("MaximumBatchingWindowInSeconds", 0)),
                f"{subject} MaximumBatchingWindowInSeconds",
            ),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            enabled=as_bool(self._resolve(properties.get("Enabled", True)), f"{subject} Enabled"),
            maximum_concurrency=self._maximum_concurrency(subject, properties.get("ScalingConfig")),
        )

    def _maximum_concurrency(self, subject: str, scaling: object) -> int | None:
        scaling = self._resolve(scaling)
        if scaling is None:
            return None
        if not isinstance(scaling, Mapping):
            raise TemplateError(f"{subject} ScalingConfig must be a mapping, not {scaling!r}")
        if scaling.get("MaximumConcurrency") is None:
            return None
        limit = as_int(self._resolve(scaling["MaximumConcurrency"]), f"{subject} ScalingConfig.MaximumConcurrency")
        # Lambda's bounds for an SQS mapping's maximum concurrency.
        if not 2 <= limit <= 1000:
            raise TemplateError(f"{subject} ScalingConfig.MaximumConcurrency must be between 2 and 1000, not {limit}")
        return limit

    def _schedule_event(self, event_name: str, event_type: str, properties: Mapping[str, Any]) -> ScheduleEventSpec:
        expression_key = "Schedule" if event_type == "Schedule" else "ScheduleExpression"
        subject = f"{event_name} {expression_key}"
        expression = self._resolver.resolve_text(properties.get(expression_key), subject)
        if "Enabled" in properties:
            enabled = as_bool(self._resolve(properties["Enabled"]), f"{event_name} Enabled")
        else:
            enabled = (
                self._resolver.resolve_text(properties.get("State", "ENABLED"), f"{event_name} State") == "ENABLED"
            )
        event_input = self._resolve(properties.get("Input"))
        return ScheduleEventSpec(
            name=event_name,
            expression=expression,
            enabled=enabled,
            input=None if event_input is None or event_input is NO_VALUE else _json_text(event_input),
        )

    def _outputs(self) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for name, output in (self._template.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition is not None and not self._resolver.condition(str(condition)):
                continue
            try:
                value = self._resolve(output.get("Value"))
            except UnresolvableError as error:
                self._notes.add(f"output {name} is omitted: {error}")
                continue
            if isinstance(value, list):
                outputs[name] = ",".join(scalar_text(item, f"output {name}") for item in value)
            else:
                outputs[name] = scalar_text(value, f"output {name}")
        return outputs


def _uses_implicit_api(resource: _Resource) -> bool:
    if resource.type != "AWS::Serverless::Function":
        return False
    events = resource.properties.get("Events") or {}
    return any(
        event.get("Type") == "Api" and "RestApiId" not in (event.get("Properties") or {}) for event in events.values()
    )


def _ref_target(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Ref"), str):
        target: str = value["Ref"]
        return target
    return None


def _table_request(name: str, properties: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    for required in ("KeySchema", "AttributeDefinitions"):
        if required not in properties:
            raise TemplateError(f"{logical_id}: a DynamoDB table needs {required}")
    billing = scalar_text(properties.get("BillingMode", "PROVISIONED"), f"{logical_id} BillingMode")
    provisioned = billing == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"), logical_id)
    global_indexes = [
        _index(index, logical_id, with_throughput=provisioned) for index in properties.get("GlobalSecondaryIndexes", [])
    ]
    if global_indexes:
        request["GlobalSecondaryIndexes"] = global_indexes
    local_indexes = [
        _index(index, logical_id, with_throughput=False) for index in properties.get("LocalSecondaryIndexes", [])
    ]
    if local_indexes:
        request["LocalSecondaryIndexes"] = local_indexes
    stream = properties.get("StreamSpecification")
    if stream:
        view_type = scalar_text(stream.get("StreamViewType"), f"{logical_id} StreamViewType")
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    if "TableClass" in properties:
        request["TableClass"] = scalar_text(properties["TableClass"], f"{logical_id} TableClass")
    if "DeletionProtectionEnabled" in properties:
        request["DeletionProtectionEnabled"] = as_bool(properties["DeletionProtectionEnabled"], f"{logical_id}")
    if properties.get("Tags"):
        request["Tags"] = _tag_list(properties["Tags"])
    return request


def _index(index: Mapping[str, Any], logical_id: str, *, with_throughput: bool) -> dict[str, Any]:
    name = scalar_text(index.get("IndexName"), f"{logical_id} IndexName")
    projection = index.get("Projection")
    if not isinstance(projection, dict) or "ProjectionType" not in projection:
        raise TemplateError(f"{logical_id}: index {name} needs a Projection with a ProjectionType")
    request: dict[str, Any] = {
        "IndexName": name,
        "KeySchema": index.get("KeySchema"),
        "Projection": {key: projection[key] for key in ("ProjectionType", "NonKeyAttributes") if key in projection},
    }
    if with_throughput:
        request["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"), f"{logical_id} {name}")
    return request


def _throughput(value: Any, what: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise TemplateError(f"{what}: ProvisionedThroughput is required with BillingMode PROVISIONED")
    return {
        "ReadCapacityUnits": as_int(value.get("ReadCapacityUnits"), f"{what} ReadCapacityUnits"),
        "WriteCapacityUnits": as_int(value.get("WriteCapacityUnits"), f"{what} WriteCapacityUnits"),
    }


def _secret_value(logical_id: str, properties: Mapping[str, Any]) -> str | None:
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise TemplateError(f"{logical_id}: give SecretString or GenerateSecretString, not both")
    if "SecretString" in properties:
        return scalar_text(properties["SecretString"], f"{logical_id} SecretString")
    rules = properties.get("GenerateSecretString")
    if rules is None:
        return None
    password = generate_password(rules)
    template, key = rules.get("SecretStringTemplate"), rules.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise TemplateError(
            f"{logical_id}: SecretStringTemplate and GenerateStringKey are given together or not at all"
        )
    try:
        document = json.loads(scalar_text(template))
    except json.JSONDecodeError as error:
        raise TemplateError(f"{logical_id}: SecretStringTemplate is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise TemplateError(f"{logical_id}: SecretStringTemplate must be a JSON object")
    document[scalar_text(key)] = password
    return json.dumps(document)


def _alarm_request(logical_id: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        key: scalar_text(properties[key], f"{logical_id} {key}") for key in _ALARM_TEXT_KEYS if key in properties
    }
    for key in _ALARM_ACTION_KEYS:
        if key in properties:
            request[key] = [scalar_text(action, f"{logical_id} {key}") for action in properties[key]]
    for key in _ALARM_INT_KEYS:
        if key in properties:
            request[key] = as_int(properties[key], f"{logical_id} {key}")
    if "Threshold" in properties:
        request["Threshold"] = _as_float(properties["Threshold"], f"{logical_id} Threshold")
    if "ActionsEnabled" in properties:
        request["ActionsEnabled"] = as_bool(properties["ActionsEnabled"], f"{logical_id} ActionsEnabled")
    if "Dimensions" in properties:
        request["Dimensions"] = _dimensions(properties["Dimensions"], logical_id)
    if "Metrics" in properties:
        request["Metrics"] = [_metric_query(query, logical_id) for query in properties["Metrics"]]
    return request


def _dimensions(dimensions: list[Any], logical_id: str) -> list[dict[str, str]]:
    return [
        {
            "Name": scalar_text(dimension.get("Name"), f"{logical_id} dimension Name"),
            "Value": scalar_text(dimension.get("Value"), f"{logical_id} dimension Value"),
        }
        for dimension in dimensions
    ]


def _metric_query(query: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    result = dict(query)
    if "Period" in result:
        result["Period"] = as_int(result["Period"], f"{logical_id} Metrics Period")
    if "ReturnData" in result:
        result["ReturnData"] = as_bool(result["ReturnData"], f"{logical_id} Metrics ReturnData")
    stat = result.get("MetricStat")
    if isinstance(stat, dict):
        stat = dict(stat)
        stat["Period"] = as_int(stat.get("Period"), f"{logical_id} MetricStat Period")
        metric = dict(stat.get("Metric") or {})
        if "Dimensions" in metric:
            metric["Dimensions"] = _dimensions(metric["Dimensions"], logical_id)
        stat["Metric"] = metric
        result["MetricStat"] = stat
    return result


def _as_float(value: object, what: str) -> float:
    try:
        return float(scalar_text(value, what))
    except ValueError as error:
        raise TemplateError(f"{what} must be a number, not {value!r}") from error


def _cors_spec(value: Any, api: str) -> CorsSpec:
    if isinstance(value, str):
        return CorsSpec(allow_origin=_unquote(value, f"{api} Cors"))
    if not isinstance(value, dict) or "AllowOrigin" not in value:
        raise TemplateError(f"{api}: Cors must be an origin string or a mapping with AllowOrigin")
    max_age = value.get("MaxAge")
    return CorsSpec(
        allow_origin=_unquote(value["AllowOrigin"], f"{api} Cors AllowOrigin"),
        allow_methods=_unquote(value["AllowMethods"], f"{api} Cors AllowMethods") if "AllowMethods" in value else None,
        allow_headers=_unquote(value["AllowHeaders"], f"{api} Cors AllowHeaders") if "AllowHeaders" in value else None,
        max_age=None if max_age is None else as_int(_unquote(max_age, f"{api} Cors MaxAge"), f"{api} Cors MaxAge"),
        allow_credentials=as_bool(value.get("AllowCredentials", False), f"{api} Cors AllowCredentials"),
    )
