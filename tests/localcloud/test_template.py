"""Reading templates: short tags, intrinsic functions, parameters, conditions, Globals and ordering."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from localcloud.template import (
    NO_VALUE,
    IntrinsicResolver,
    TemplateError,
    UnresolvableError,
    dependency_order,
    load_template,
    merge_globals,
    properties_with_globals,
    pseudo_parameters,
    references,
    resolve_parameters,
)


class FakeResources:
    """Resource attributes given up front, as provisioning would have recorded them."""

    def __init__(self, refs: Mapping[str, object], attributes: Mapping[tuple[str, str], object]) -> None:
        self._refs = refs
        self._attributes = attributes

    def ref(self, logical_id: str) -> object:
        if logical_id not in self._refs:
            raise UnresolvableError(f"{logical_id} is not emulated")
        return self._refs[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> object:
        if (logical_id, attribute) not in self._attributes:
            raise UnresolvableError(f"{logical_id}.{attribute} is not emulated")
        return self._attributes[(logical_id, attribute)]


@pytest.fixture
def write_template(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "template.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_resolver() -> Callable[..., IntrinsicResolver]:
    def make(
        template: Mapping[str, Any] | None = None,
        parameters: Mapping[str, object] | None = None,
        resources: FakeResources | None = None,
    ) -> IntrinsicResolver:
        values = {**pseudo_parameters(region="eu-west-1", account_id="111122223333", stack_name="shop")}
        values.update(parameters or {})
        return IntrinsicResolver(
            template or {"Resources": {}},
            values,
            resources or FakeResources({"Queue": "https://queue-url"}, {("Queue", "Arn"): "arn:aws:sqs:queue"}),
        )

    return make


def _value_of(write_template: Callable[[str], Path], yaml_value: str) -> object:
    template = load_template(write_template(f"Resources: {{}}\nValue: {yaml_value}\n"))
    return template["Value"]


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("!Ref Table", {"Ref": "Table"}),
        ("!GetAtt Queue.Arn", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt Api.Endpoint.Address", {"Fn::GetAtt": ["Api", "Endpoint.Address"]}),
        ("!GetAtt [Queue, Arn]", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!Sub 'arn:${AWS::Partition}:s3:::${Bucket}'", {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"}),
        ("!Sub ['${Name}-x', {Name: !Ref Stage}]", {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Stage"}}]}),
        ("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}),
        ("!If [IsProd, 1, 2]", {"Fn::If": ["IsProd", 1, 2]}),
        ("!Equals [!Ref Stage, prod]", {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}),
        ("!Not [!Condition IsProd]", {"Fn::Not": [{"Condition": "IsProd"}]}),
        ("!And [!Condition A, !Condition B]", {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Or [!Condition A, !Condition B]", {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Condition IsProd", {"Condition": "IsProd"}),
        ("!Select [1, [a, b]]", {"Fn::Select": [1, ["a", "b"]]}),
        ("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}),
        ("!FindInMap [Map, Top, Second]", {"Fn::FindInMap": ["Map", "Top", "Second"]}),
        ("!GetAZs ''", {"Fn::GetAZs": ""}),
        ("!Base64 text", {"Fn::Base64": "text"}),
        ("!ImportValue shared-vpc", {"Fn::ImportValue": "shared-vpc"}),
        ("!Cidr ['10.0.0.0/16', 2, 8]", {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}),
    ],
)
def test_short_tags_load_as_their_long_form(
    write_template: Callable[[str], Path], yaml_value: str, expected: object
) -> None:
    # Given a template value written with a short tag
    # When the template is loaded
    value = _value_of(write_template, yaml_value)

    # Then it is the long form CloudFormation defines
    assert value == expected


def test_dates_stay_strings(write_template: Callable[[str], Path]) -> None:
    # Given an unquoted template format version, which YAML would read as a date
    path = write_template("AWSTemplateFormatVersion: 2010-09-09\nResources: {}\n")

    # When the template is loaded
    template = load_template(path)

    # Then it is the string CloudFormation reads
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


def test_json_templates_load(write_template: Callable[[str, str], Path]) -> None:
    # Given a JSON template
    path = write_template('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}', "template.json")

    # When it is loaded
    template = load_template(path)

    # Then its resources are read
    assert template["Resources"] == {"Q": {"Type": "AWS::SQS::Queue"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [("Resources: [unclosed", "not valid YAML"), ("Description: no resources\n", "Resources mapping")],
)
def test_malformed_templates_are_rejected_clearly(
    write_template: Callable[[str], Path], text: str, message: str
) -> None:
    # Given a template that is not valid YAML, or has no Resources
    path = write_template(text)

    # When it is loaded, Then the error names the problem
    with pytest.raises(TemplateError, match=message):
        load_template(path)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "AWS::AccountId"}, "111122223333"),
        ({"Ref": "AWS::StackName"}, "shop"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "Queue"}, "https://queue-url"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:queue"),
        (
            {"Fn::Sub": "${Queue}|${Queue.Arn}|${AWS::Region}|${!Literal}"},
            "https://queue-url|arn:aws:sqs:queue|eu-west-1|${Literal}",
        ),
        ({"Fn::Sub": ["${Prefix}-${AWS::StackName}", {"Prefix": {"Ref": "AWS::Region"}}]}, "eu-west-1-shop"),
        ({"Fn::Join": ["-", ["a", {"Ref": "AWS::StackName"}, 3]]}, "a-shop-3"),
        ({"Fn::Select": ["1", ["a", "b", "c"]]}, "b"),
        ({"Fn::Split": [",", "a,b,,c"]}, ["a", "b", "", "c"]),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::Base64": "hello"}, base64.b64encode(b"hello").decode()),
        ({"Fn::Cidr": ["10.0.0.0/16", 3, 8]}, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]),
        ({"Fn::Equals": ["1", 1]}, True),
        ({"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}, True),
        ({"Fn::And": [True, {"Fn::Equals": ["a", "b"]}]}, False),
        ({"Fn::Or": [False, {"Fn::Equals": ["a", "a"]}]}, True),
    ],
)
def test_intrinsic_functions_evaluate(
    make_resolver: Callable[..., IntrinsicResolver], expression: object, expected: object
) -> None:
    # Given a resolver with parameters and one created queue
    resolver = make_resolver()

    # When the expression is resolved, Then it has CloudFormation's value
    assert resolver.resolve(expression) == expected


def test_find_in_map_reads_mappings_and_rejects_missing_keys(make_resolver: Callable[..., IntrinsicResolver]) -> None:
    # Given a template with a mapping
    resolver = make_resolver({"Resources": {}, "Mappings": {"Sizes": {"dev": {"Memory": 256}}}})

    # When a present and an absent entry are looked up
    found = resolver.resolve({"Fn::FindInMap": ["Sizes", "dev", "Memory"]})

    # Then the present one is returned and the absent one names the path
    assert found == 256
    with pytest.raises(TemplateError, match="Sizes -> prod -> Memory"):
        resolver.resolve({"Fn::FindInMap": ["Sizes", "prod", "Memory"]})


def test_import_value_and_unemulated_resources_are_unresolvable(
    make_resolver: Callable[..., IntrinsicResolver],
) -> None:
    # Given a resolver that knows only a queue
    resolver = make_resolver()

    # When another stack's export or an unknown resource is referenced, Then it cannot be resolved locally
    with pytest.raises(UnresolvableError, match="shared-vpc"):
        resolver.resolve({"Fn::ImportValue": "shared-vpc"})
    with pytest.raises(UnresolvableError, match="Bucket"):
        resolver.resolve({"Fn::Sub": "s3://${Bucket}/key"})


def test_no_value_removes_the_key_or_list_item(make_resolver: Callable[..., IntrinsicResolver]) -> None:
    # Given a false condition choosing AWS::NoValue in a mapping and in a list
    resolver = make_resolver({"Resources": {}, "Conditions": {"IsProd": {"Fn::Equals": ["dev", "prod"]}}})
    no_value_in_prod = {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}

    # When they are resolved
    resolved = resolver.resolve({"Keep": "k", "Drop": no_value_in_prod, "List": ["a", no_value_in_prod]})

    # Then the key and the list item are gone
    assert resolved == {"Keep": "k", "List": ["a"]}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_conditions_can_use_other_conditions_and_parameters(make_resolver: Callable[..., IntrinsicResolver]) -> None:
    # Given conditions built from a parameter and from each other
    template = {
        "Resources": {},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsNotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
            "IsEuropeanDev": {
                "Fn::And": [{"Condition": "IsNotProd"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}]
            },
        },
    }
    resolver = make_resolver(template, {"Stage": "dev"})

    # When they are evaluated, Then each follows the parameter
    assert resolver.condition("IsProd") is False
    assert resolver.condition("IsNotProd") is True
    assert resolver.condition("IsEuropeanDev") is True
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "small"


def test_conditions_in_a_cycle_or_undefined_are_errors(make_resolver: Callable[..., IntrinsicResolver]) -> None:
    # Given two conditions that refer to each other
    template = {"Resources": {}, "Conditions": {"A": {"Condition": "B"}, "B": {"Fn::Not": [{"Condition": "A"}]}}}
    resolver = make_resolver(template)

    # When they are evaluated, Then the cycle, and an undefined condition, are reported
    with pytest.raises(TemplateError, match="cycle"):
        resolver.condition("A")
    with pytest.raises(TemplateError, match="Missing is not defined"):
        resolver.condition("Missing")


def test_an_iam_condition_block_is_not_a_condition_reference(make_resolver: Callable[..., IntrinsicResolver]) -> None:
    # Given a policy statement whose Condition is a mapping
    statement = {"Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}

    # When it is resolved, Then it stays a mapping with its intrinsics resolved
    assert make_resolver().resolve(statement) == {"Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}


PARAMETERS = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Retries": {"Type": "Number", "Default": 3, "MinValue": 0, "MaxValue": 10},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Prefix": {"Type": "String", "Default": "shop", "AllowedPattern": "[a-z]+"},
    },
    "Resources": {},
}


def test_parameters_take_their_defaults() -> None:
    # Given a template whose parameters all have defaults
    # When no override is given
    values = resolve_parameters(PARAMETERS, {})

    # Then each default is used, numbers as strings and lists as lists
    assert values == {"Stage": "dev", "Retries": "3", "Zones": ["a", "b"], "Prefix": "shop"}


def test_overrides_replace_defaults() -> None:
    # Given overrides for some parameters
    # When the parameters are resolved
    values = resolve_parameters(PARAMETERS, {"Stage": "prod", "Zones": "x,y,z", "Retries": "7"})

    # Then the overrides win
    assert values["Stage"] == "prod"
    assert values["Zones"] == ["x", "y", "z"]
    assert values["Retries"] == "7"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Stage": "qa"}, "parameter Stage: 'qa' is not one of the allowed values dev, prod"),
        ({"Retries": "many"}, "parameter Retries: 'many' is not a number"),
        ({"Retries": "11"}, "parameter Retries: 11 is above the MaxValue 10"),
        ({"Prefix": "Shop1"}, "parameter Prefix: 'Shop1' does not match the pattern"),
        ({"Unknown": "x"}, "parameter override Unknown: not declared"),
    ],
)
def test_bad_overrides_are_rejected_naming_the_parameter(overrides: dict[str, str], message: str) -> None:
    # Given an override that breaks a parameter's constraints
    # When the parameters are resolved, Then a ValueError names the parameter
    with pytest.raises(ValueError, match=message):
        resolve_parameters(PARAMETERS, overrides)


def test_a_parameter_without_default_needs_an_override() -> None:
    # Given a parameter without a default
    template = {"Parameters": {"ApiKey": {"Type": "String"}}, "Resources": {}}

    # When nothing is given, Then the parameter is named; when an override is given, it is used
    with pytest.raises(ValueError, match="parameter ApiKey: no Default"):
        resolve_parameters(template, {})
    assert resolve_parameters(template, {"ApiKey": "k"}) == {"ApiKey": "k"}


def test_pseudo_parameters_follow_the_partition_of_the_region() -> None:
    # Given a China region
    # When the pseudo parameters are computed
    values = pseudo_parameters(region="cn-north-1", account_id="111122223333", stack_name="shop")

    # Then the partition, URL suffix and stack id follow it, and the stack id is stable
    assert values["AWS::Partition"] == "aws-cn"
    assert values["AWS::URLSuffix"] == "amazonaws.com.cn"
    assert str(values["AWS::StackId"]).startswith("arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/shop/")
    assert values == pseudo_parameters(region="cn-north-1", account_id="111122223333", stack_name="shop")


def test_globals_merge_maps_concatenate_lists_and_override_scalars() -> None:
    # Given Globals and a function that both set scalars, maps and lists
    global_properties = {
        "Timeout": 10,
        "Runtime": "python3.12",
        "Layers": ["GlobalLayer"],
        "Environment": {"Variables": {"TABLE": "global-table", "STAGE": "dev"}},
    }
    local_properties = {
        "Timeout": 30,
        "Layers": ["LocalLayer"],
        "Environment": {"Variables": {"TABLE": "local-table", "QUEUE": "q"}},
    }

    # When they are merged
    merged = merge_globals(global_properties, local_properties)

    # Then scalars are the resource's, lists are Globals first, maps merge with the resource winning
    assert merged == {
        "Timeout": 30,
        "Runtime": "python3.12",
        "Layers": ["GlobalLayer", "LocalLayer"],
        "Environment": {"Variables": {"TABLE": "local-table", "STAGE": "dev", "QUEUE": "q"}},
    }


def test_globals_treat_intrinsics_and_mismatched_types_as_scalars() -> None:
    # Given values where one side is an intrinsic function or of another type
    # When they are merged, Then the resource's value is taken whole
    assert merge_globals({"CodeUri": "src/"}, {"CodeUri": {"Bucket": "b", "Key": "k"}}) == {
        "CodeUri": {"Bucket": "b", "Key": "k"}
    }
    assert merge_globals({"Tags": {"team": "a"}}, {"Tags": {"Fn::If": ["C", {"x": "1"}, {}]}}) == {
        "Tags": {"Fn::If": ["C", {"x": "1"}, {}]}
    }


def test_globals_apply_only_to_their_resource_type() -> None:
    # Given Globals for functions
    template = {"Globals": {"Function": {"Timeout": 10}}, "Resources": {}}

    # When a function's and a queue's properties are completed
    function_properties = properties_with_globals(template, "AWS::Serverless::Function", {"Handler": "a.b"})
    queue_properties = properties_with_globals(template, "AWS::SQS::Queue", {"DelaySeconds": 1})

    # Then only the function inherits them
    assert function_properties == {"Timeout": 10, "Handler": "a.b"}
    assert queue_properties == {"DelaySeconds": 1}


def test_references_are_found_in_ref_getatt_and_sub() -> None:
    # Given properties that refer to resources in every form
    properties = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::Sub": "${Topic}-${Dlq.Arn}-${!NotThis}-${Var}"},
        "D": {"Fn::Sub": ["${Var}", {"Var": {"Ref": "Secret"}}]},
        "E": {"Ref": "Api.Stage"},
    }

    # When the references are collected, Then every target is found, and literals and variables are not
    assert references(properties) == {"Table", "Queue", "Topic", "Dlq", "Var", "Secret", "Api"}


def test_dependency_order_puts_dependencies_first_and_keeps_declaration_order_otherwise() -> None:
    # Given a queue declared before the dead-letter queue it uses
    dependencies = {"Queue": {"DeadLetterQueue", "AWS::Region"}, "Table": set(), "DeadLetterQueue": set()}

    # When they are ordered
    order = dependency_order(dependencies)

    # Then the dead-letter queue comes first and the rest keep their order
    assert order == ["DeadLetterQueue", "Queue", "Table"]


def test_dependency_cycles_are_reported() -> None:
    # Given two resources that depend on each other
    # When they are ordered, Then the cycle is named
    with pytest.raises(TemplateError, match="A -> B -> A"):
        dependency_order({"A": {"B"}, "B": {"A"}})
