"""template.yaml for tests: parsed (CloudFormation tags understood), translated offline by
samtranslator, and resolved with parameter values, so tests read the stack's real properties."""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
CODE_URI = "s3://presso-metrics-artifacts/presso-metrics.zip"

_ROLE = "arn:aws:iam::aws:policy/service-role/"
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": _ROLE + "AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": _ROLE + "AWSLambdaSQSQueueExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaRole": _ROLE + "AWSLambdaRole",
}


class _PolicyLoader:
    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


@functools.cache
def sam_template() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    return dict(cfn_yaml.load(str(TEMPLATE)))


def parameter_defaults() -> dict[str, Any]:
    return {name: p.get("Default") for name, p in sam_template()["Parameters"].items()}


@functools.cache
def translated() -> dict[str, Any]:
    """The CloudFormation template ``sam deploy`` would create (CodeUri as sam package sets it)."""
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
    sam = copy.deepcopy(sam_template())
    sam["Globals"]["Function"]["CodeUri"] = CODE_URI
    return dict(transform(sam, {}, _PolicyLoader()))


def resources(type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in translated()["Resources"].items() if v["Type"] == type_}


def resolve(value: Any, parameters: dict[str, Any] | None = None) -> Any:
    """Substitute ``Ref`` to parameters (defaults unless given); other intrinsics stay."""
    params = {**parameter_defaults(), **(parameters or {})}
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in params:
            return params[value["Ref"]]
        return {k: resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    return value


def conditions(parameters: dict[str, Any] | None = None) -> dict[str, bool]:
    """The template's conditions, evaluated for these parameters (defaults otherwise)."""
    params = {**parameter_defaults(), **(parameters or {})}
    declared = sam_template().get("Conditions", {})
    known: dict[str, bool] = {}

    def holds(expression: Any) -> bool:
        ((function, args),) = expression.items()
        if function == "Condition":
            if args not in known:
                known[args] = holds(declared[args])
            return known[args]
        if function == "Fn::Equals":
            left, right = (str(resolve(a, params)) for a in args)
            return left == right
        if function == "Fn::Not":
            return not holds(args[0])
        if function == "Fn::And":
            return all(holds(a) for a in args)
        if function == "Fn::Or":
            return any(holds(a) for a in args)
        raise NotImplementedError(function)

    return {name: holds({"Condition": name}) for name in declared}


_NO_VALUE = object()


def deployed(value: Any, parameters: dict[str, Any] | None = None) -> Any:
    """A value as CloudFormation would deploy it for these parameters: ``Ref`` to parameters
    substituted, ``Fn::If`` decided by the template's conditions, ``AWS::NoValue`` removed.
    Other intrinsics (``Fn::GetAtt``, ``Fn::Sub``...) stay."""
    params = {**parameter_defaults(), **(parameters or {})}
    decided = conditions(params)

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] == "AWS::NoValue":
                return _NO_VALUE
            if set(v) == {"Ref"} and v["Ref"] in params:
                return params[v["Ref"]]
            if set(v) == {"Fn::If"}:
                name, then, otherwise = v["Fn::If"]
                return walk(then if decided[name] else otherwise)
            out = {k: walk(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x is not _NO_VALUE}
        if isinstance(v, list):
            return [x for x in (walk(x) for x in v) if x is not _NO_VALUE]
        return v

    return walk(value)


def attributes_named(value: Any) -> Any:
    """``Fn::GetAtt`` and ``Ref`` to resources replaced by ``"<Resource>.<Attribute>"`` and
    ``"<Resource>"``, so a template value compares with what code builds from those names."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            return ".".join(value["Fn::GetAtt"])
        if set(value) == {"Ref"} and value["Ref"] in translated()["Resources"]:
            return value["Ref"]
        return {k: attributes_named(v) for k, v in value.items()}
    if isinstance(value, list):
        return [attributes_named(v) for v in value]
    return value


_SUB_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")
REGION = "us-west-2"


def render_sub(value: Any, parameters: dict[str, Any] | None = None) -> str:
    """An ``Fn::Sub`` rendered as CloudFormation would, with resources' values as placeholders:
    ``${Resource}`` becomes ``<Resource>``, ``${Resource.Attribute}`` ``<Resource.Attribute>``;
    parameters, ``AWS::Region`` (us-west-2), ``AWS::StackName`` (presso-metrics) and the
    ``Fn::Sub`` variables (conditions decided) take their values. A name that is none of these
    fails the test, as it would fail the deployment."""
    params = {**parameter_defaults(), **(parameters or {})}
    sub = deployed(value, params)["Fn::Sub"]
    template, variables = (sub, {}) if isinstance(sub, str) else sub
    pseudo = {"AWS::Region": REGION, "AWS::StackName": "presso-metrics"}
    resources = translated()["Resources"]

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            v = variables[name]
            return render_sub(v, params) if isinstance(v, dict) else str(v)
        if name in params:
            return str(params[name])
        if name in pseudo:
            return pseudo[name]
        if name.split(".")[0] in resources:
            return f"<{name}>"
        raise KeyError(f"${{{name}}} names nothing in the template")

    return _SUB_PLACEHOLDER.sub(replace, template)


def rules_refuse(parameters: dict[str, Any] | None = None) -> list[str]:
    """What the template's ``Rules`` refuse for these parameters (defaults otherwise): the
    AssertDescription of each assertion that fails where its rule applies. Parameter values
    reach rule functions as strings, as in CloudFormation; an intrinsic this evaluator does not
    know fails the test rather than passing unchecked."""
    params = {k: str(v) for k, v in {**parameter_defaults(), **(parameters or {})}.items()}

    def value(expression: Any) -> Any:
        if isinstance(expression, dict):
            ((function, args),) = expression.items()
            if function == "Ref":
                return params[args]
            return holds(expression)
        if isinstance(expression, list):
            return [value(v) for v in expression]
        return expression

    def holds(expression: dict[str, Any]) -> bool:
        ((function, args),) = expression.items()
        if function == "Fn::Equals":
            left, right = (value(a) for a in args)
            return bool(left == right)
        if function == "Fn::Contains":
            values, candidate = (value(a) for a in args)
            return candidate in values
        if function == "Fn::Not":
            return not holds(args[0])
        if function == "Fn::And":
            return all(holds(a) for a in args)
        if function == "Fn::Or":
            return any(holds(a) for a in args)
        raise NotImplementedError(f"rule function {function}")

    refused = []
    for rule in translated().get("Rules", {}).values():
        if "RuleCondition" in rule and not holds(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not holds(assertion["Assert"]):
                refused.append(str(assertion["AssertDescription"]))
    return refused


_SSE_API_NAMES = {"SSEEnabled": "Enabled", "SSEType": "SSEType", "KMSMasterKeyId": "KMSMasterKeyId"}


def table_from_template(
    name: str | None = None, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``create_table`` arguments from the template's MetricsTable properties."""
    props = deployed(translated()["Resources"]["MetricsTable"]["Properties"], parameters)
    return {
        "TableName": name or props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
        "SSESpecification": {_SSE_API_NAMES[k]: v for k, v in props["SSESpecification"].items()},
    }


def queue_attributes_from_template(resource: str) -> dict[str, Any]:
    """The SQS attributes the template gives a queue (references left as they are)."""
    props = resolve(translated()["Resources"][resource]["Properties"])
    return {k: v for k, v in props.items() if k != "QueueName"}
