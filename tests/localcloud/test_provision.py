"""Provisioning a SAM template into moto and resolving the stack localcloud runs."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from localcloud.provision import ProvisionReport, generate_password, provision, provision_stack
from localcloud.spec import ApiEventSpec, AuthorizerSpec, CorsSpec, ScheduleEventSpec, SqsEventSpec

ORDERS_APP = Path(__file__).parent / "templates" / "orders_app" / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def endpoint_url(moto_endpoint: str) -> str:
    """The emulator, emptied: every test starts without resources."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return moto_endpoint


@pytest.fixture
def aws(endpoint_url: str) -> Callable[[str], Any]:
    def client(service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    return client


@pytest.fixture
def provision_orders_app(endpoint_url: str) -> Callable[..., ProvisionReport]:
    def run(**overrides: str) -> ProvisionReport:
        return provision_stack(ORDERS_APP, endpoint_url=endpoint_url, parameter_overrides=overrides)

    return run


@pytest.fixture
def write_app(tmp_path: Path) -> Callable[[str], Path]:
    """Writes a template next to an empty `src/` code folder and returns its path."""

    def write(text: str) -> Path:
        app = tmp_path / "small-app"
        (app / "src").mkdir(parents=True, exist_ok=True)
        template = app / "template.yaml"
        template.write_text(text, encoding="utf-8")
        return template

    return write


def test_tables_are_created_with_their_indexes_ttl_and_stream(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given the app's template, with a table that has a GSI, an LSI, TTL and a stream
    # When it is provisioned
    provision_orders_app()

    # Then the table exists with all of them, under its explicit (resolved) name
    dynamodb = aws("dynamodb")
    table = dynamodb.describe_table(TableName="orders-app-orders-dev")["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by-status"]
    assert table["GlobalSecondaryIndexes"][0]["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["total"],
    }
    assert [index["IndexName"] for index in table["LocalSecondaryIndexes"]] == ["by-created"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = dynamodb.describe_time_to_live(TableName="orders-app-orders-dev")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_simple_table_uses_its_primary_key_and_on_demand_billing(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given a SimpleTable without a name or throughput
    # When the app is provisioned
    provision_orders_app()

    # Then it is named after the stack and logical id, keyed by its primary key, billed on demand
    table = aws("dynamodb").describe_table(TableName="orders-app-SessionsTable")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "session_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "session_id", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_queue_redrive_policy_points_at_the_dead_letter_queue(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given a queue declared before the dead-letter queue its RedrivePolicy names
    # When the app is provisioned
    report = provision_orders_app()

    # Then the dead-letter queue was created first and the queue's policy holds its ARN
    created = [resource.logical_id for resource in report.resources]
    assert created.index("JobsDeadLetterQueue") < created.index("JobsQueue")
    sqs = aws("sqs")
    dlq_url = sqs.get_queue_url(QueueName="orders-app-JobsDeadLetterQueue")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.get_queue_url(QueueName="orders-app-JobsQueue")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert attributes["VisibilityTimeout"] == "60"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "2"


def test_fifo_queue_keeps_the_fifo_suffix(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given a FIFO queue without a name
    # When the app is provisioned
    provision_orders_app()

    # Then its generated name ends with .fifo and it is a FIFO queue
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName="orders-app-EventsFifoQueue.fifo")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"


def test_generated_secret_follows_its_rules(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given a secret generated into a JSON template, 48 long, without punctuation or look-alikes
    # When the app is provisioned
    provision_orders_app()

    # Then its value is the template with the generated key added, following every rule
    value = json.loads(aws("secretsmanager").get_secret_value(SecretId="orders-app-SigningKeySecret")["SecretString"])
    assert value["kid"] == "local"
    key = value["key"]
    assert len(key) == 48
    assert set(key) <= set(string.ascii_letters + string.digits) - set("0O1lI")
    assert any(c in string.ascii_lowercase for c in key)
    assert any(c in string.ascii_uppercase for c in key)
    assert any(c in string.digits for c in key)


def test_a_secret_keeps_its_value_across_provisions(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given an app provisioned once, with a generated secret
    provision_orders_app()
    secrets = aws("secretsmanager")
    first = secrets.get_secret_value(SecretId="orders-app-SigningKeySecret")["SecretString"]

    # When it is provisioned again (a restart)
    report = provision_orders_app()

    # Then the secret is reused with the same value, so tokens signed with it stay valid
    assert secrets.get_secret_value(SecretId="orders-app-SigningKeySecret")["SecretString"] == first
    assert {r.logical_id: r.status for r in report.resources}["SigningKeySecret"] == "existing"


def test_a_secret_string_is_stored_under_its_explicit_name(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given a secret with a Name and a SecretString
    # When the app is provisioned
    provision_orders_app()

    # Then it is stored as given
    value = aws("secretsmanager").get_secret_value(SecretId="orders-app/api-key")["SecretString"]
    assert value == "not-a-real-key"


@pytest.mark.parametrize(
    "rules",
    [
        {"PasswordLength": 12, "ExcludeUppercase": True, "ExcludeNumbers": True, "ExcludePunctuation": True},
        {"PasswordLength": 40, "IncludeSpace": True, "RequireEachIncludedType": False, "ExcludeLowercase": "true"},
        {"PasswordLength": 4, "ExcludeCharacters": string.punctuation[:-1]},
    ],
)
def test_generated_passwords_respect_every_rule(rules: dict[str, Any]) -> None:
    # Given GenerateSecretString rules
    # When passwords are generated
    passwords = [generate_password(rules) for _ in range(20)]

    # Then each has the length and only the characters the rules allow, with each required type
    for password in passwords:
        assert len(password) == rules["PasswordLength"]
        if rules.get("ExcludeUppercase"):
            assert not any(c.isupper() for c in password)
        if rules.get("ExcludeLowercase"):
            assert not any(c.islower() for c in password)
        if rules.get("ExcludeNumbers"):
            assert not any(c.isdigit() for c in password)
        if "ExcludeCharacters" in rules:
            assert not set(password) & set(rules["ExcludeCharacters"])
            assert "~" in password
    with_spaces = generate_password({"PasswordLength": 4000, "IncludeSpace": True})
    assert " " in with_spaces


def test_email_identity_is_verified_so_mail_can_be_sent_from_it(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given the app, whose sender address is an SES identity
    provision_orders_app()
    ses = aws("sesv2")
    message = {"Simple": {"Subject": {"Data": "Order shipped"}, "Body": {"Text": {"Data": "On its way"}}}}

    # When mail is sent from it, and from an address that is not an identity
    sent = ses.send_email(
        FromEmailAddress="orders@example.com", Destination={"ToAddresses": ["buyer@example.org"]}, Content=message
    )

    # Then the identity's mail is accepted and the other is rejected
    assert sent["MessageId"]
    with pytest.raises(ClientError, match="not verified"):
        ses.send_email(
            FromEmailAddress="nobody@example.net", Destination={"ToAddresses": ["buyer@example.org"]}, Content=message
        )


def test_sns_subscription_delivers_only_what_its_filter_policy_matches(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given the app, whose topic feeds the jobs queue for shipped orders only, as raw messages
    report = provision_orders_app()
    topic_arn = report.stack.functions["OrdersFunction"].environment["TOPIC_ARN"]
    queue_url = report.stack.functions["OrdersFunction"].environment["JOBS_QUEUE_URL"]
    sns = aws("sns")

    # When a shipped and a pending order event are published
    for status in ("pending", "shipped"):
        sns.publish(
            TopicArn=topic_arn,
            Message=f"order is {status}",
            MessageAttributes={"status": {"DataType": "String", "StringValue": status}},
        )

    # Then only the shipped one reaches the queue, unwrapped
    messages = aws("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [message["Body"] for message in messages] == ["order is shipped"]
    subscription = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"][0]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"status": ["shipped"]}


def test_alarm_is_created_with_resolved_dimensions(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given an alarm on the jobs queue's depth that notifies the topic
    # When the app is provisioned
    report = provision_orders_app()

    # Then the alarm names the queue and the topic by their real names
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=["orders-app-JobsBacklogAlarm"])["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "orders-app-JobsQueue"}]
    assert alarm["AlarmActions"] == [report.stack.functions["OrdersFunction"].environment["TOPIC_ARN"]]
    assert (alarm["Threshold"], alarm["Period"], alarm["EvaluationPeriods"]) == (100.0, 60, 5)


def test_log_groups_are_created_for_the_template_and_each_function(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given a log group whose retention comes from a mapping, and four Python functions
    # When the app is provisioned
    provision_orders_app()

    # Then the log group has its retention, and every function has its /aws/lambda group
    groups = {group["logGroupName"]: group for group in aws("logs").describe_log_groups()["logGroups"]}
    assert groups["orders-app-AuditLogGroup"]["retentionInDays"] == 7
    assert {name for name in groups if name.startswith("/aws/lambda/")} == {
        "/aws/lambda/orders-app-AuthorizerFunction",
        "/aws/lambda/orders-app-orders",
        "/aws/lambda/orders-app-WorkerFunction",
        "/aws/lambda/orders-app-PingFunction",
    }


def test_function_environment_is_resolved_against_created_resources(
    provision_orders_app: Callable[..., ProvisionReport], endpoint_url: str, aws: Callable[[str], Any]
) -> None:
    # Given a function whose variables refer to the queue, table, secret, topic, another function and parameters
    # When the app is provisioned
    report = provision_orders_app()

    # Then each variable holds the real attribute, and the prod-only one is absent
    environment = report.stack.functions["OrdersFunction"].environment
    secret_arn = aws("secretsmanager").describe_secret(SecretId="orders-app-SigningKeySecret")["ARN"]
    stream_arn = aws("dynamodb").describe_table(TableName="orders-app-orders-dev")["Table"]["LatestStreamArn"]
    assert environment == {
        "STAGE": "dev",
        "TABLE_NAME": "orders-app-orders-dev",
        "JOBS_QUEUE_URL": f"{endpoint_url}/{ACCOUNT}/orders-app-JobsQueue",
        "JOBS_QUEUE_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-app-JobsQueue",
        "SIGNING_KEY_SECRET_ID": secret_arn,
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-app-OrderEventsTopic",
        "STREAM_ARN": stream_arn,
        "AUTHORIZER_NAME": "orders-app-AuthorizerFunction",
        "SENDER": "orders@example.com",
        "BATCH": "5",
        "QUEUE_REGION": "orders-app-JobsQueue in us-east-1",
    }
    assert report.stack.functions["WorkerFunction"].environment["TABLE_NAME"] == "orders-app-SessionsTable"


def test_function_settings_merge_globals_and_defaults(provision_orders_app: Callable[..., ProvisionReport]) -> None:
    # Given functions that take their runtime, code, timeout and layer from Globals
    # When the app is provisioned
    functions = provision_orders_app().stack.functions

    # Then each has the merged settings and the Lambda defaults where nothing is set
    app_dir = ORDERS_APP.parent
    orders = functions["OrdersFunction"]
    assert (orders.function_name, orders.handler, orders.runtime) == (
        "orders-app-orders",
        "orders_handlers.handler",
        "python3.12",
    )
    assert orders.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-app-orders"
    assert orders.code_dir == app_dir / "src"
    assert orders.layer_dirs == (app_dir / "layer",)
    assert (orders.timeout_s, orders.memory_mb, orders.reserved_concurrency) == (10, 128, 2)
    worker = functions["WorkerFunction"]
    assert (worker.timeout_s, worker.memory_mb, worker.reserved_concurrency) == (30, 128, None)
    assert functions["AuthorizerFunction"].memory_mb == 256
    assert "NodeFunction" not in functions


def test_function_events_become_api_sqs_and_schedule_specs(
    provision_orders_app: Callable[..., ProvisionReport], endpoint_url: str
) -> None:
    # Given functions with Api, SQS, Schedule and ScheduleV2 events
    # When the app is provisioned
    functions = provision_orders_app().stack.functions

    # Then Api routes carry their authorizer (the API default unless NONE or named)
    assert functions["OrdersFunction"].api_events == (
        ApiEventSpec("OrdersApi", "/orders", "GET", "TokenAuthorizer"),
        ApiEventSpec("OrdersApi", "/orders", "POST", "RequestAuthorizer"),
        ApiEventSpec("OrdersApi", "/health", "GET", None),
    )
    # And the SQS mapping knows the queue by ARN and URL
    assert functions["WorkerFunction"].sqs_events == (
        SqsEventSpec(
            queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-app-JobsQueue",
            queue_url=f"{endpoint_url}/{ACCOUNT}/orders-app-JobsQueue",
            batch_size=5,
            maximum_batching_window_s=2,
            report_batch_item_failures=True,
            enabled=True,
            maximum_concurrency=4,
        ),
    )
    # And schedules keep their expression, state and input
    assert functions["WorkerFunction"].schedule_events == (
        ScheduleEventSpec("Nightly", "cron(0 3 * * ? *)", enabled=True, input='{"job": "cleanup"}'),
        ScheduleEventSpec("Hourly", "rate(1 hour)", enabled=False, input=None),
    )


def test_api_spec_has_authorizers_cors_and_binary_types(provision_orders_app: Callable[..., ProvisionReport]) -> None:
    # Given an API with a TOKEN and a REQUEST authorizer, Globals CORS and binary media types
    # When the app is provisioned
    api = provision_orders_app().stack.apis["OrdersApi"]

    # Then the spec holds them resolved, with SAM's quotes and ~1 escapes undone
    assert api.stage == "dev"
    assert api.default_authorizer == "TokenAuthorizer"
    assert api.authorizers == {
        "TokenAuthorizer": AuthorizerSpec(
            name="TokenAuthorizer",
            function_logical_id="AuthorizerFunction",
            type="TOKEN",
            identity_sources=("method.request.header.X-Api-Token",),
            ttl_s=60,
            validation_expression="^Bearer .+$",
        ),
        "RequestAuthorizer": AuthorizerSpec(
            name="RequestAuthorizer",
            function_logical_id="AuthorizerFunction",
            type="REQUEST",
            identity_sources=("method.request.header.Authorization", "method.request.querystring.tenant"),
            ttl_s=0,
        ),
    }
    assert api.cors == CorsSpec(
        allow_origin="https://shop.example.com",
        allow_methods="GET,POST",
        allow_headers="Content-Type,Authorization",
        max_age=600,
        allow_credentials=True,
    )
    assert api.binary_media_types == ("image/png", "application/pdf")


def test_implicit_api_serves_api_events_without_a_rest_api_id(
    provision_orders_app: Callable[..., ProvisionReport],
) -> None:
    # Given a function with an Api event that names no RestApiId
    # When the app is provisioned
    stack = provision_orders_app().stack

    # Then the implicit ServerlessRestApi exists on stage Prod, with Globals.Api applied
    api = stack.apis["ServerlessRestApi"]
    assert (api.stage, api.default_authorizer, api.authorizers) == ("Prod", None, {})
    assert api.cors is not None
    assert api.cors.allow_origin == "https://shop.example.com"
    assert stack.functions["PingFunction"].api_events == (ApiEventSpec("ServerlessRestApi", "/ping", "GET", None),)


def test_outputs_are_resolved_to_strings(
    provision_orders_app: Callable[..., ProvisionReport], endpoint_url: str
) -> None:
    # Given outputs built from APIs, a queue and a table
    # When the app is provisioned
    report = provision_orders_app()

    # Then each is a string with the real values, and the API ids are stable stand-ins
    api_id = report.rest_api_ids["OrdersApi"]
    implicit_id = report.rest_api_ids["ServerlessRestApi"]
    assert len(api_id) == 10
    assert api_id != implicit_id
    assert report.stack.outputs == {
        "ApiUrl": f"https://{api_id}.execute-api.us-east-1.amazonaws.com/dev",
        "PingUrl": f"https://{implicit_id}.execute-api.us-east-1.amazonaws.com/Prod/ping",
        "JobsQueueUrl": f"{endpoint_url}/{ACCOUNT}/orders-app-JobsQueue",
        "OrdersTableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-app-orders-dev",
    }


def test_unsupported_features_are_listed_once_each(provision_orders_app: Callable[..., ProvisionReport]) -> None:
    # Given an app using resources, properties and events localcloud does not emulate
    # When it is provisioned
    unsupported = provision_orders_app().stack.unsupported

    # Then each is one readable line, never repeated
    assert len(unsupported) == len(set(unsupported))
    assert set(unsupported) == {
        "SQS server-side encryption settings are accepted but not emulated: JobsQueue",
        "AWS::SQS::QueuePolicy is accepted; resource policies are not enforced locally: JobsQueuePolicy",
        "DynamoDB SSESpecification is accepted but not emulated (moto ignores encryption at rest): "
        "OrdersTable, SessionsTable",
        "DynamoDB PointInTimeRecoverySpecification is accepted but not emulated (moto keeps no backups): OrdersTable",
        "API Gateway MethodSettings (throttling, caching, logging) are not emulated: OrdersApi",
        "function property Tracing is not emulated: AuthorizerFunction, OrdersFunction, WorkerFunction, PingFunction",
        "IAM roles and policies (AWS::IAM::* resources, function Role and Policies) are not enforced locally",
        "NodeFunction (AWS::Serverless::Function) is skipped: runtime nodejs20.x is not emulated; "
        "only Python functions run locally",
        "AWS::S3::Bucket is not emulated: UploadsBucket",
        "S3 events are not emulated: OrdersFunction.Uploads",
        "output UploadsBucketName is omitted: UploadsBucket (AWS::S3::Bucket) is not emulated",
    }


def test_a_second_provision_reuses_every_resource(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given an app provisioned once
    first = provision_orders_app()

    # When it is provisioned again, as on a restart
    second = provision_orders_app()

    # Then nothing is created or duplicated, and the stack is the same
    assert second.stack == first.stack
    assert {r.status for r in second.resources} == {"existing", "local"}
    assert [r.physical_id for r in second.resources] == [r.physical_id for r in first.resources]
    assert len(aws("sqs").list_queues()["QueueUrls"]) == 3
    assert len(aws("dynamodb").list_tables()["TableNames"]) == 2
    assert len(aws("sns").list_subscriptions()["Subscriptions"]) == 1
    assert len(aws("secretsmanager").list_secrets()["SecretList"]) == 2
    summary = [line.split() for line in second.summary_lines()]
    assert ["existing", "AWS::SQS::Queue", "JobsQueue", "->", "orders-app-JobsQueue"] in summary
    assert len(summary) == len(second.resources)


def test_parameter_overrides_change_names_conditions_and_mappings(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given the prod stage chosen by override
    # When the app is provisioned
    report = provision_orders_app(Stage="prod")

    # Then names, the prod-only queue, the prod-only variable and the mapped retention follow it
    assert report.stack.functions["OrdersFunction"].environment["TABLE_NAME"] == "orders-app-orders-prod"
    assert report.stack.functions["OrdersFunction"].environment["PROD_ONLY"] == "yes"
    assert report.stack.outputs["ProdQueueUrl"].endswith("/orders-app-ProdOnlyQueue")
    assert report.stack.apis["OrdersApi"].stage == "prod"
    groups = aws("logs").describe_log_groups(logGroupNamePrefix="orders-app-AuditLogGroup")["logGroups"]
    assert groups[0]["retentionInDays"] == 30


def test_resources_whose_condition_is_false_are_not_created(
    provision_orders_app: Callable[..., ProvisionReport], aws: Callable[[str], Any]
) -> None:
    # Given the default dev stage, where the prod-only queue's condition is false
    # When the app is provisioned
    report = provision_orders_app()

    # Then that queue, and the output that names it, do not exist
    assert not any(url.endswith("ProdOnlyQueue") for url in aws("sqs").list_queues()["QueueUrls"])
    assert "ProdQueueUrl" not in report.stack.outputs
    assert "ProdOnlyQueue" not in {r.logical_id for r in report.resources}


def test_a_bad_parameter_override_is_a_value_error_naming_the_parameter(
    provision_orders_app: Callable[..., ProvisionReport],
) -> None:
    # Given a stage outside the allowed values
    # When the app is provisioned, Then the error names the parameter and the allowed values
    with pytest.raises(ValueError, match="parameter Stage: 'qa' is not one of the allowed values dev, prod"):
        provision_orders_app(Stage="qa")


def test_an_explicit_stack_name_names_the_generated_resources(endpoint_url: str, aws: Callable[[str], Any]) -> None:
    # Given a stack name other than the template folder's
    # When the app is provisioned under it
    stack = provision(ORDERS_APP, endpoint_url=endpoint_url, stack_name="shop-local")

    # Then generated names use it
    assert stack.functions["OrdersFunction"].function_name == "shop-local-orders"
    assert aws("sqs").get_queue_url(QueueName="shop-local-JobsQueue")["QueueUrl"]


def test_an_invalid_stack_name_is_rejected(endpoint_url: str) -> None:
    # Given a stack name with characters CloudFormation refuses
    # When provisioning, Then the name is reported
    with pytest.raises(ValueError, match="stack name 'my stack'"):
        provision(ORDERS_APP, endpoint_url=endpoint_url, stack_name="my stack")


def test_a_layer_without_build_method_contributes_its_python_folder(
    write_app: Callable[[str], Path], endpoint_url: str
) -> None:
    # Given a prebuilt layer laid out as Lambda expects (python/ inside), and a layer outside the template
    template = write_app(
        """
Resources:
  Prebuilt:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: prebuilt/
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Layers:
        - !Ref Prebuilt
        - arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:1
"""
    )
    (template.parent / "prebuilt" / "python").mkdir(parents=True)

    # When it is provisioned
    stack = provision(template, endpoint_url=endpoint_url)

    # Then the function gets the python/ folder, and the outside layer is reported
    assert stack.functions["Fn"].layer_dirs == (template.parent / "prebuilt" / "python",)
    assert stack.unsupported == (
        "function layers other than an AWS::Serverless::LayerVersion of the template are not available: Fn",
    )


def test_unresolvable_environment_variables_are_left_unset_and_reported(
    write_app: Callable[[str], Path], endpoint_url: str
) -> None:
    # Given variables from another stack's export and from a role SAM would generate
    template = write_app(
        """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Environment:
        Variables:
          VPC_ID: !ImportValue network-VpcId
          ROLE_ARN: !GetAtt FnRole.Arn
          KEPT: kept
"""
    )

    # When it is provisioned
    stack = provision(template, endpoint_url=endpoint_url)

    # Then only the resolvable variable is set, and each other one is explained
    assert stack.functions["Fn"].environment == {"KEPT": "kept"}
    assert stack.unsupported == (
        "environment variable VPC_ID of Fn is left unset: Fn::ImportValue network-VpcId: "
        "exports of other stacks are not available locally",
        "environment variable ROLE_ARN of Fn is left unset: FnRole would be generated by SAM from Fn "
        "and is not emulated",
    )


def test_topic_subscriptions_and_authorizer_variants(
    write_app: Callable[[str], Path], endpoint_url: str, aws: Callable[[str], Any]
) -> None:
    # Given a topic with inline subscriptions (one to a function) and an API with IAM and REQUEST authorizers
    template = write_app(
        """
Resources:
  Inbox:
    Type: AWS::SQS::Queue
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: alerts
      Subscription:
        - {Protocol: sqs, Endpoint: !GetAtt Inbox.Arn}
        - {Protocol: lambda, Endpoint: !GetAtt Fn.Arn}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Cors: "'*'"
      Auth:
        DefaultAuthorizer: AWS_IAM
        Authorizers:
          ContextAuthorizer:
            FunctionArn: !GetAtt Fn.Arn
            FunctionPayloadType: REQUEST
            Identity:
              StageVariables: [tier]
              Context: [sourceIp]
          Cognito:
            UserPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      Events:
        Open:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /open, Method: get}
        ByCognito:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /users, Method: get, Auth: {Authorizer: Cognito}}
"""
    )

    # When it is provisioned
    stack = provision(template, endpoint_url=endpoint_url)

    # Then the queue subscription exists, the function one is reported, and authorizers are mapped or reported
    subscriptions = aws("sns").list_subscriptions()["Subscriptions"]
    assert [s["Protocol"] for s in subscriptions] == ["sqs"]
    api = stack.apis["Api"]
    assert api.cors == CorsSpec(allow_origin="*")
    assert api.default_authorizer is None
    assert api.authorizers["ContextAuthorizer"].identity_sources == ("stageVariables.tier", "context.sourceIp")
    assert set(api.authorizers) == {"ContextAuthorizer"}
    assert [event.authorizer for event in stack.functions["Fn"].api_events] == [None, None]
    assert stack.unsupported == (
        "SNS subscriptions with protocol lambda are not delivered to functions locally: Alerts",
        "Cognito user pool authorizers are not emulated: Api.Cognito",
        "AWS_IAM authorization is not enforced locally: Api",
        "routes whose authorizer is not emulated are left open: Fn.ByCognito (Cognito)",
    )


def test_a_missing_code_folder_is_a_clear_error(write_app: Callable[[str], Path], endpoint_url: str) -> None:
    # Given a function whose CodeUri does not exist
    template = write_app(
        """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, CodeUri: missing/, Handler: app.handler}
"""
    )

    # When it is provisioned, Then the error names the function and the folder
    with pytest.raises(ValueError, match="Fn: CodeUri 'missing/' is not a folder"):
        provision(template, endpoint_url=endpoint_url)


def test_an_unreachable_emulator_is_a_connection_error(write_app: Callable[[str], Path]) -> None:
    # Given a template with a queue and no emulator listening on the endpoint's port
    template = write_app("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")

    # When it is provisioned, Then the failure says the emulator cannot be reached
    with pytest.raises(ConnectionError, match="cannot reach the AWS emulator"):
        provision(template, endpoint_url="http://127.0.0.1:9")
