"""Reads a SAM or CloudFormation template and resolves its parameters, conditions, Globals and intrinsics."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

import yaml  # type: ignore[import-untyped]


class TemplateError(ValueError):
    """A template that cannot be read or resolved."""


class UnresolvableError(TemplateError):
    """A value that only real AWS could supply: a resource localcloud does not emulate, another stack's export."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


# `Ref: AWS::NoValue` resolves to this; the enclosing mapping key or list item is then dropped.
NO_VALUE: Final = _NoValue()

ParameterValue = str | list[str]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_FUNCTION_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
)
_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class _TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A SafeLoader that knows CloudFormation's short tags."""


# CloudFormation reads `2010-09-09` as a string; YAML would make it a date.
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_node(loader: Any, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _long_form(name: str) -> Callable[[Any, Any], dict[str, Any]]:
    def construct(loader: Any, node: Any) -> dict[str, Any]:
        return {name: _construct_node(loader, node)}

    return construct


def _construct_get_att(loader: Any, node: Any) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {"Fn::GetAtt": value}


_TemplateLoader.add_constructor("!Ref", _long_form("Ref"))
_TemplateLoader.add_constructor("!Condition", _long_form("Condition"))
_TemplateLoader.add_constructor("!GetAtt", _construct_get_att)
for _tag in _FUNCTION_TAGS:
    _TemplateLoader.add_constructor(f"!{_tag}", _long_form(f"Fn::{_tag}"))


def load_template(path: Path) -> dict[str, Any]:
    """Reads a YAML or JSON template, with short-form intrinsic tags turned into their long form."""
    text = path.read_text(encoding="utf-8")
    is_json = path.suffix.lower() == ".json"
    try:
        document = json.loads(text) if is_json else yaml.load(text, Loader=_TemplateLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise TemplateError(f"{path}: not valid {'JSON' if is_json else 'YAML'}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: a template must be a mapping with a Resources mapping")
    return document


def scalar_text(value: object, what: str = "value") -> str:
    """Renders a resolved scalar the way CloudFormation passes it on: booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"{what} must be a string, number or boolean, not {value!r}")


def as_bool(value: object, what: str) -> bool:
    """Reads a resolved boolean, accepting CloudFormation's "true"/"false" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TemplateError(f"{what} must be true or false, not {value!r}")


def as_int(value: object, what: str) -> int:
    """Reads a resolved integer, accepting numeric strings (parameters are strings)."""
    if isinstance(value, bool):
        raise TemplateError(f"{what} must be an integer, not {value!r}")
    try:
        return int(scalar_text(value, what))
    except ValueError as error:
        raise TemplateError(f"{what} must be an integer, not {value!r}") from error


def pseudo_parameters(*, region: str, account_id: str, stack_name: str) -> dict[str, object]:
    """The values of `AWS::Region`, `AWS::AccountId` and the other pseudo parameters."""
    if region.startswith("cn-"):
        partition, url_suffix = "aws-cn", "amazonaws.com.cn"
    elif region.startswith("us-gov-"):
        partition, url_suffix = "aws-us-gov", "amazonaws.com"
    else:
        partition, url_suffix = "aws", "amazonaws.com"
    stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"{partition}/{region}/{account_id}/{stack_name}")
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{stack_uuid}",
        "AWS::Partition": partition,
        "AWS::URLSuffix": url_suffix,
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }


def resolve_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, ParameterValue]:
    """Each declared parameter's value: its override or Default, checked against its constraints."""
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"parameter override {', '.join(unknown)}: not declared in the template's Parameters")
    return {name: _parameter_value(name, declaration, overrides.get(name)) for name, declaration in declared.items()}


def _parameter_value(name: str, declaration: Mapping[str, Any], override: str | None) -> ParameterValue:
    raw = override if override is not None else declaration.get("Default")
    if raw is None:
        raise TemplateError(f"parameter {name}: no Default in the template and no override given")
    parameter_type = str(declaration.get("Type", "String"))
    if parameter_type.startswith("AWS::SSM::Parameter::"):
        raise TemplateError(f"parameter {name}: type {parameter_type} reads SSM Parameter Store, which is not emulated")
    text = ",".join(scalar_text(item) for item in raw) if isinstance(raw, list) else scalar_text(raw, name)
    is_list = parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<")
    is_number = parameter_type in ("Number", "List<Number>")
    items = [item.strip() for item in text.split(",")] if is_list else [text]
    for item in items:
        _check_parameter_constraints(name, declaration, item, is_number=is_number)
    return items if is_list else text


def _check_parameter_constraints(name: str, declaration: Mapping[str, Any], value: str, *, is_number: bool) -> None:
    hint = f" ({declaration['ConstraintDescription']})" if "ConstraintDescription" in declaration else ""
    allowed = [scalar_text(item) for item in declaration.get("AllowedValues") or []]
    if allowed and value not in allowed:
        raise TemplateError(f"parameter {name}: {value!r} is not one of the allowed values {', '.join(allowed)}{hint}")
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise TemplateError(f"parameter {name}: {value!r} does not match the pattern {pattern}{hint}")
    if not is_number:
        _check_length(name, declaration, value, hint)
        return
    try:
        number = float(value)
    except ValueError as error:
        raise TemplateError(f"parameter {name}: {value!r} is not a number") from error
    if "MinValue" in declaration and number < float(declaration["MinValue"]):
        raise TemplateError(f"parameter {name}: {value} is below the MinValue {declaration['MinValue']}{hint}")
    if "MaxValue" in declaration and number > float(declaration["MaxValue"]):
        raise TemplateError(f"parameter {name}: {value} is above the MaxValue {declaration['MaxValue']}{hint}")


def _check_length(name: str, declaration: Mapping[str, Any], value: str, hint: str) -> None:
    if "MinLength" in declaration and len(value) < int(declaration["MinLength"]):
        raise TemplateError(
            f"parameter {name}: {value!r} is shorter than the MinLength {declaration['MinLength']}{hint}"
        )
    if "MaxLength" in declaration and len(value) > int(declaration["MaxLength"]):
        raise TemplateError(
            f"parameter {name}: {value!r} is longer than the MaxLength {declaration['MaxLength']}{hint}"
        )


class ResourceAttributes(Protocol):
    """What `Ref` and `Fn::GetAtt` return for the template's resources."""

    def ref(self, logical_id: str) -> object: ...

    def get_att(self, logical_id: str, attribute: str) -> object: ...


class IntrinsicResolver:
    """Evaluates intrinsic functions and conditions against parameters and the attributes of created resources."""

    def __init__(
        self, template: Mapping[str, Any], parameters: Mapping[str, object], resources: ResourceAttributes
    ) -> None:
        self._mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self._condition_definitions: Mapping[str, Any] = template.get("Conditions") or {}
        self._parameters = parameters
        self._resources = resources
        self._conditions: dict[str, bool] = {}
        self._conditions_in_progress: list[str] = []
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::GetAZs": self._get_azs,
            "Fn::Base64": self._base64,
            "Fn::ImportValue": self._import_value,
            "Fn::Cidr": self._cidr,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": self._and,
            "Fn::Or": self._or,
        }

    def resolve(self, value: Any) -> Any:
        """Returns `value` with every intrinsic function evaluated (NO_VALUE if it is `AWS::NoValue`)."""
        if isinstance(value, list):
            return [item for item in (self.resolve(element) for element in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key in self._functions:
                return self._functions[key](argument)
            # A one-key mapping named Condition is a condition reference only inside condition functions,
            # where its argument is a name; IAM policy Condition blocks are mappings.
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def resolve_text(self, value: Any, what: str) -> str:
        """Resolves a value that must end up a string."""
        return scalar_text(self.resolve(value), what)

    def condition(self, name: str) -> bool:
        """The value of a named condition of the template's Conditions section."""
        if name in self._conditions:
            return self._conditions[name]
        if name not in self._condition_definitions:
            raise TemplateError(f"condition {name} is not defined in the template's Conditions")
        if name in self._conditions_in_progress:
            cycle = " -> ".join([*self._conditions_in_progress, name])
            raise TemplateError(f"conditions refer to each other in a cycle: {cycle}")
        self._conditions_in_progress.append(name)
        try:
            value = self._truth(self._condition_definitions[name], f"condition {name}")
        finally:
            self._conditions_in_progress.pop()
        self._conditions[name] = value
        return value

    def _truth(self, expression: Any, what: str) -> bool:
        return as_bool(self.resolve(expression), what)

    def _ref(self, name: Any) -> object:
        if not isinstance(name, str):
            raise TemplateError(f"Ref takes a name, not {name!r}")
        if name in self._parameters:
            return self._parameters[name]
        return self._resources.ref(name)

    def _get_att(self, argument: Any) -> object:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        elif isinstance(argument, list) and len(argument) == 2:
            logical_id, attribute = argument[0], self.resolve_text(argument[1], "Fn::GetAtt attribute")
        else:
            raise TemplateError(f"Fn::GetAtt takes [LogicalId, Attribute], not {argument!r}")
        if not isinstance(logical_id, str) or not attribute:
            raise TemplateError(f"Fn::GetAtt takes [LogicalId, Attribute], not {argument!r}")
        return self._resources.get_att(logical_id, attribute)

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            raise TemplateError(f"Fn::Sub takes a string or [string, variables], not {argument!r}")
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub takes a string, not {text!r}")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return scalar_text(variables[name], f"Fn::Sub variable {name}")
            if name in self._parameters:
                return scalar_text(self._parameters[name], f"Fn::Sub parameter {name}")
            logical_id, dot, attribute = name.partition(".")
            value = self._resources.get_att(logical_id, attribute) if dot else self._resources.ref(name)
            return scalar_text(value, f"Fn::Sub reference {name}")

        return _SUB_PLACEHOLDER.sub(substitute, text)

    def _join(self, argument: Any) -> str:
        delimiter, items = _pair(argument, "Fn::Join")
        values = self.resolve(items)
        if not isinstance(values, list):
            raise TemplateError(f"Fn::Join takes a list of values, not {values!r}")
        separator = self.resolve_text(delimiter, "Fn::Join delimiter")
        return separator.join(scalar_text(value, "Fn::Join item") for value in values)

    def _select(self, argument: Any) -> object:
        index_expression, items = _pair(argument, "Fn::Select")
        index = as_int(self.resolve(index_expression), "Fn::Select index")
        values = self.resolve(items)
        if not isinstance(values, list) or not 0 <= index < len(values):
            raise TemplateError(f"Fn::Select index {index} is outside the list {values!r}")
        return values[index]

    def _split(self, argument: Any) -> list[str]:
        delimiter, source = _pair(argument, "Fn::Split")
        separator = self.resolve_text(delimiter, "Fn::Split delimiter")
        return self.resolve_text(source, "Fn::Split source").split(separator)

    def _find_in_map(self, argument: Any) -> object:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise TemplateError(f"Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey], not {argument!r}")
        map_name, top_key, second_key = (self.resolve_text(item, "Fn::FindInMap key") for item in argument[:3])
        try:
            return self._mappings[map_name][top_key][second_key]
        except (KeyError, TypeError) as error:
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"])
            raise TemplateError(f"Fn::FindInMap: Mappings has no {map_name} -> {top_key} -> {second_key}") from error

    def _get_azs(self, argument: Any) -> list[str]:
        region = self.resolve_text(argument, "Fn::GetAZs region") or scalar_text(self._parameters["AWS::Region"])
        return [f"{region}{zone}" for zone in "abc"]

    def _base64(self, argument: Any) -> str:
        return base64.b64encode(self.resolve_text(argument, "Fn::Base64 value").encode()).decode()

    def _import_value(self, argument: Any) -> object:
        name = self.resolve_text(argument, "Fn::ImportValue name")
        raise UnresolvableError(f"Fn::ImportValue {name}: exports of other stacks are not available locally")

    def _cidr(self, argument: Any) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError(f"Fn::Cidr takes [ipBlock, count, cidrBits], not {argument!r}")
        block = self.resolve_text(argument[0], "Fn::Cidr ipBlock")
        count = as_int(self.resolve(argument[1]), "Fn::Cidr count")
        host_bits = as_int(self.resolve(argument[2]), "Fn::Cidr cidrBits")
        try:
            network = ipaddress.ip_network(block, strict=False)
            subnets = network.subnets(new_prefix=network.max_prefixlen - host_bits)
            cidrs = [str(subnet) for _, subnet in zip(range(count), subnets, strict=False)]
        except ValueError as error:
            raise TemplateError(f"Fn::Cidr {block} with {host_bits} host bits: {error}") from error
        if len(cidrs) < count:
            raise TemplateError(f"Fn::Cidr: {block} holds only {len(cidrs)} blocks of {host_bits} host bits")
        return cidrs

    def _if(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3 or not isinstance(argument[0], str):
            raise TemplateError(f"Fn::If takes [ConditionName, ValueIfTrue, ValueIfFalse], not {argument!r}")
        return self.resolve(argument[1] if self.condition(argument[0]) else argument[2])

    def _equals(self, argument: Any) -> bool:
        first, second = _pair(argument, "Fn::Equals")
        return _comparable(self.resolve(first)) == _comparable(self.resolve(second))

    def _not(self, argument: Any) -> bool:
        if not isinstance(argument, list) or len(argument) != 1:
            raise TemplateError(f"Fn::Not takes a list of one condition, not {argument!r}")
        return not self._truth(argument[0], "Fn::Not condition")

    def _and(self, argument: Any) -> bool:
        return all(self._truth(item, "Fn::And condition") for item in _conditions_list(argument, "Fn::And"))

    def _or(self, argument: Any) -> bool:
        return any(self._truth(item, "Fn::Or condition") for item in _conditions_list(argument, "Fn::Or"))


def _pair(argument: Any, function: str) -> tuple[Any, Any]:
    if not isinstance(argument, list) or len(argument) != 2:
        raise TemplateError(f"{function} takes a list of two values, not {argument!r}")
    return argument[0], argument[1]


def _conditions_list(argument: Any, function: str) -> list[Any]:
    if not isinstance(argument, list) or not argument:
        raise TemplateError(f"{function} takes a list of conditions, not {argument!r}")
    return argument


def _comparable(value: object) -> object:
    if isinstance(value, bool | int | float | str):
        return scalar_text(value)
    return value


def is_intrinsic(value: object) -> bool:
    """Whether `value` is one intrinsic function call such as `{"Ref": ...}`."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::"))


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """Applies SAM's Globals rules: mappings merge key by key, lists concatenate Globals first, the rest is local."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if is_intrinsic(global_value) or is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


GLOBALS_SECTIONS: Final = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::SimpleTable": "SimpleTable",
    "AWS::Serverless::StateMachine": "StateMachine",
}


def properties_with_globals(
    template: Mapping[str, Any], resource_type: str, properties: Mapping[str, Any]
) -> dict[str, Any]:
    """A SAM resource's Properties with the template's Globals for its type merged in."""
    section = GLOBALS_SECTIONS.get(resource_type)
    template_globals: Mapping[str, Any] = template.get("Globals") or {}
    global_properties = template_globals.get(section) if section else None
    if not global_properties:
        return dict(properties)
    merged: dict[str, Any] = merge_globals(global_properties, dict(properties))
    return merged


def references(value: Any) -> set[str]:
    """Logical ids and parameter names that `value` refers to through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if len(value) == 1 and "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"].partition(".")[0])
        elif len(value) == 1 and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            found.add((target.partition(".")[0] if isinstance(target, str) else str(target[0])) if target else "")
        elif len(value) == 1 and "Fn::Sub" in value:
            found |= _sub_references(value["Fn::Sub"])
        else:
            for item in value.values():
                found |= references(item)
    found.discard("")
    return found


def _sub_references(argument: Any) -> set[str]:
    if isinstance(argument, str):
        text, variables = argument, {}
    elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        text, variables = argument
    else:
        return references(argument)
    found = references(variables)
    if isinstance(text, str):
        for name in _SUB_PLACEHOLDER.findall(text):
            if not name.startswith("!") and name.strip() not in variables:
                found.add(name.strip().partition(".")[0])
    return found


def dependency_order(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """The keys of `dependencies` ordered so each comes after what it depends on, otherwise in the given order."""
    position = {name: index for index, name in enumerate(dependencies)}
    done: set[str] = set()
    in_progress: list[str] = []
    order: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in in_progress:
            cycle = " -> ".join([*in_progress[in_progress.index(name) :], name])
            raise TemplateError(f"resources depend on each other in a cycle: {cycle}")
        in_progress.append(name)
        for dependency in sorted((d for d in set(dependencies[name]) if d in position), key=position.__getitem__):
            visit(dependency)
        in_progress.pop()
        done.add(name)
        order.append(name)

    for name in dependencies:
        visit(name)
    return order
