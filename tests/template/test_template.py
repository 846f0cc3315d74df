"""The SAM template: lint-clean, translates offline, and holds the stack's contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.patterns import compile_pattern
from tests.conftest import load_event, recorded_trace
from tests.sam import (
    TEMPLATE,
    conditions,
    deployed,
    render_sub,
    resolve,
    resources,
    rules_refuse,
    sam_template,
    translated,
)

CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


def one(type_: str) -> dict[str, Any]:
    (found,) = resources(type_).values()
    return found["Properties"]  # type: ignore[no-any-return]


def by_name(name: str) -> dict[str, Any]:
    return translated()["Resources"][name]["Properties"]  # type: ignore[no-any-return]


def test_cfn_lint_reports_nothing() -> None:
    result = subprocess.run(
        [CFN_LINT, "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-west-2", "PATH": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_rule_pattern_is_the_default_metrics_pattern(metrics: MetricSet) -> None:
    pattern = resolve(one("AWS::Events::Rule")["EventPattern"])
    assert pattern == metrics.rule_pattern()


def test_rule_routes_exactly_what_some_metric_counts(metrics: MetricSet) -> None:
    rule = compile_pattern(resolve(one("AWS::Events::Rule")["EventPattern"]))
    counted = [
        "waiting-completion.json",
        "waiting-completion-loadtest-shape.json",
        "order-cancelled-detailed.json",
        "order-cancelled-state-machine.json",
    ]
    for name in counted:
        assert rule.matches(load_event(name)), name
    for event in recorded_trace():
        counted_by_some_metric = any(m.pattern.matches(event) for m in metrics)
        assert rule.matches(event) == counted_by_some_metric, event["detail-type"]
    other = load_event("waiting-completion.json") | {"source": "someone.else"}
    assert not rule.matches(other)


def test_rule_targets_the_queue_on_the_existing_bus() -> None:
    rule = one("AWS::Events::Rule")
    assert resolve(rule["EventBusName"])["Fn::If"][2] == "Serverlesspresso"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["MetricsQueue", "Arn"]}


def test_queue_redrive_and_visibility() -> None:
    queue = by_name("MetricsQueue")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["MetricsDeadLetterQueue", "Arn"]
    }
    timeout = by_name("PublishMetricsFunction")["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    for name in ("MetricsQueue", "MetricsDeadLetterQueue"):
        assert by_name(name)["SqsManagedSseEnabled"] is True


def test_only_the_rule_may_send_to_the_queue_and_its_dead_letter_queue() -> None:
    policies = resources("AWS::SQS::QueuePolicy")
    assert set(policies) == {"MetricsQueuePolicy", "MetricsDeadLetterQueuePolicy"}
    for name, queue in [
        ("MetricsQueuePolicy", "MetricsQueue"),
        ("MetricsDeadLetterQueuePolicy", "MetricsDeadLetterQueue"),
    ]:
        props = policies[name]["Properties"]
        assert props["Queues"] == [{"Ref": queue}]
        (statement,) = props["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["OrderMetricsRule", "Arn"]}}
        }


def test_what_the_rule_cannot_deliver_goes_to_the_dead_letter_queue() -> None:
    (target,) = by_name("OrderMetricsRule")["Targets"]
    # The same dead-letter queue as the consumer's rejects: one place for everything not counted.
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["MetricsDeadLetterQueue", "Arn"]}}
    # EventBridge's maxima (AWS::Events::Rule RetryPolicy: 0-185 attempts, 60-86400 s), so
    # nothing is dropped or dead-lettered before EventBridge's own default would.
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    # The dedup markers outlive every redelivery, this retry window included.
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] < 60 * 24 * 3600


RULE_ALARMS = {
    "RuleFailedInvocationsAlarm": "FailedInvocations",
    "RuleDeadLetteredAlarm": "InvocationsSentToDlq",
    "RuleDeadLetterFailedAlarm": "InvocationsFailedToBeSentToDlq",
}


def test_alarms_on_the_rules_delivery() -> None:
    rule_name = by_name("OrderMetricsRule")["Name"]
    alarms = resources("AWS::CloudWatch::Alarm")
    assert set(alarms) == {"DeadLetterAlarm", *RULE_ALARMS}
    for name, metric in RULE_ALARMS.items():
        props = alarms[name]["Properties"]
        assert (props["Namespace"], props["MetricName"]) == ("AWS/Events", metric)
        assert props["Statistic"] == "Sum" and props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        # AWS sends these metrics only when they are not zero.
        assert props["TreatMissingData"] == "notBreaching"
        # On a custom bus the rule's metrics carry EventBusName and RuleName ...
        assert deployed(props["Dimensions"]) == [
            {"Name": "EventBusName", "Value": "Serverlesspresso"},
            {"Name": "RuleName", "Value": rule_name},
        ]
        # ... on the default bus, RuleName alone.
        assert deployed(props["Dimensions"], {"EventBusName": "default"}) == [
            {"Name": "RuleName", "Value": rule_name}
        ]


def test_table() -> None:
    table = one("AWS::DynamoDB::Table")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "PK": "HASH",
        "SK": "RANGE",
    }


KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_table_uses_the_free_aws_owned_key_unless_a_key_is_given() -> None:
    sse = by_name("MetricsTable")["SSESpecification"]
    # SSEEnabled true without a key would be the AWS managed key, which KMS bills.
    assert deployed(sse) == {"SSEEnabled": False}
    assert deployed(sse, {"TableKmsKeyArn": KEY}) == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": KEY,
    }
    pattern = re.compile(sam_template()["Parameters"]["TableKmsKeyArn"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch(KEY)
    assert not pattern.fullmatch("alias/aws/dynamodb")


def test_consumer_reports_batch_item_failures_with_a_maximum_concurrency() -> None:
    (mapping,) = resources("AWS::Lambda::EventSourceMapping").values()
    props = resolve(mapping["Properties"])
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"] == {"MaximumConcurrency": 5}
    assert props["BatchSize"] == 100 and props["MaximumBatchingWindowInSeconds"] == 5
    function = by_name("PublishMetricsFunction")
    assert function["Handler"] == "presso_metrics.entrypoints.lambda_handler.handler"
    assert function["Runtime"] >= "python3.12" and function["Architectures"] == ["arm64"]


def test_rules_refuse_a_large_batch_without_a_batching_window() -> None:
    def refused(batch_size: int, window: int) -> list[str]:
        return rules_refuse({"BatchSize": batch_size, "MaximumBatchingWindowInSeconds": window})

    (reason,) = refused(100, 0)
    assert "BatchSize over 10" in reason and "at least 1" in reason
    assert refused(11, 0) == [reason]
    assert refused(10_000, 0) == [reason]
    assert refused(100, 5) == []
    assert refused(11, 1) == []
    assert refused(10, 0) == []
    assert refused(1, 0) == []
    assert rules_refuse() == []  # the defaults deploy


def test_batch_parameters_bound_what_lambda_accepts() -> None:
    params = sam_template()["Parameters"]
    assert (params["BatchSize"]["MinValue"], params["BatchSize"]["MaxValue"]) == (1, 10_000)
    window = params["MaximumBatchingWindowInSeconds"]
    assert (window["MinValue"], window["MaxValue"]) == (0, 300)


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for policy in role["Properties"].get("Policies", []):
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_least_privilege() -> None:
    roles = resources("AWS::IAM::Role")
    granted = {
        name: sorted(a for s in statements(role) for a in actions(s))
        for name, role in roles.items()
    }
    assert granted == {
        "PublishMetricsFunctionRole": [
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "sqs:SendMessage",
        ],
        "LoadTestFunctionRole": ["events:PutEvents"],
        "ReadMetricsFunctionRole": ["dynamodb:Query"],
    }
    for role in roles.values():
        for s in statements(role):
            assert not any("*" in a for a in actions(s)), s
            assert s["Resource"] != "*", s
        managed = role["Properties"].get("ManagedPolicyArns", [])
        assert set(managed) <= {
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
        }, managed
    consumer = statements(roles["PublishMetricsFunctionRole"])
    assert {json.dumps(s["Resource"], sort_keys=True) for s in consumer} == {
        json.dumps({"Fn::GetAtt": ["MetricsTable", "Arn"]}),
        json.dumps({"Fn::GetAtt": ["MetricsDeadLetterQueue", "Arn"]}),
    }


TRANSACTIONS_ONLY = {
    "ForAnyValue:StringEquals": {"dynamodb:EnclosingOperation": ["TransactWriteItems"]}
}


def test_consumer_writes_the_table_only_inside_transactions() -> None:
    consumer = statements(resources("AWS::IAM::Role")["PublishMetricsFunctionRole"])
    table = {"Fn::GetAtt": ["MetricsTable", "Arn"]}
    on_table = [s for s in consumer if s["Resource"] == table]
    writes = [s for s in on_table if {"dynamodb:PutItem", "dynamodb:UpdateItem"} & set(actions(s))]
    # Every statement that grants a write carries the condition (no unconditional copy elsewhere).
    assert writes and all(s.get("Condition") == TRANSACTIONS_ONLY for s in writes), writes
    assert sorted(a for s in writes for a in actions(s)) == [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    # Reads (the dimension registry, the orders' state) are all it may do outside one.
    unconditional = [a for s in on_table if "Condition" not in s for a in actions(s)]
    assert sorted(unconditional) == ["dynamodb:BatchGetItem", "dynamodb:Query"]


def test_every_function_logs_to_a_log_group_of_the_stack_with_a_retention() -> None:
    functions = resources("AWS::Lambda::Function")
    groups = resources("AWS::Logs::LogGroup")
    assert set(functions) == {"PublishMetricsFunction", "LoadTestFunction", "ReadMetricsFunction"}
    used = []
    for name, function in functions.items():
        ref = function["Properties"]["LoggingConfig"]["LogGroup"]
        group = groups[ref["Ref"]]
        used.append(ref["Ref"])
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        # Created and deleted with its function (the API's only when the API is deployed).
        assert group.get("Condition") == function.get("Condition"), name
        # Not Lambda's default group, which a function that already ran has created itself.
        group_name = group["Properties"]["LogGroupName"]["Fn::Sub"]
        assert not group_name.startswith(("/aws/", "aws/")), group_name
        # The role may write there (the basic execution role grants CreateLogStream/PutLogEvents).
        role = resources("AWS::IAM::Role")[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert any(
            arn.endswith("/AWSLambdaBasicExecutionRole")
            for arn in role["Properties"]["ManagedPolicyArns"]
        ), name
    assert sorted(used) == sorted(groups), "one log group per function"


def test_log_retention_is_a_value_cloudwatch_logs_accepts() -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-west-2", "AWS::Logs::LogGroup")
    accepted = schema.schema["properties"]["RetentionInDays"]["enum"]
    parameter = sam_template()["Parameters"]["LogRetentionInDays"]
    assert parameter["AllowedValues"] == accepted
    assert parameter["Default"] == 30


def test_dead_letter_alarm() -> None:
    alarm = by_name("DeadLetterAlarm")
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["MetricsDeadLetterQueue", "QueueName"]
    }
    assert alarm["Threshold"] == 1


def dashboard(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    body = render_sub(by_name("CloudWatchDashboard")["DashboardBody"], parameters)
    return json.loads(body)  # type: ignore[no-any-return]


def metric_rows(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric of every widget (rendering options
    dropped)."""
    rows = []
    for widget in body["widgets"]:
        for row in widget["properties"]["metrics"]:
            names = [x for x in row if not isinstance(x, dict)]
            namespace, metric, *pairs = names
            rows.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return rows


def test_dashboard_body_is_json_and_shows_the_pipeline() -> None:
    body = dashboard()
    shown = {(ns, metric) for ns, metric, _ in metric_rows(body)}
    assert shown >= {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Events", "MatchedEvents"),
        ("AWS/Events", "FailedInvocations"),
        ("AWS/Events", "InvocationsSentToDlq"),
        ("AWS/Events", "InvocationsFailedToBeSentToDlq"),
    }
    for widget in body["widgets"]:
        assert widget["type"] == "metric"
        assert widget["properties"]["region"] == "us-west-2"  # the stack's region
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24  # the grid is 24 wide


def test_dashboard_shows_every_figure_the_consumer_emits() -> None:
    from presso_metrics.entrypoints.lambda_handler import metrics
    from presso_metrics.service import CLOUDWATCH_NAMES

    emitted = {
        (ns, metric): dims
        for ns, metric, dims in metric_rows(dashboard())
        if ns == metrics.namespace
    }
    assert {metric for _, metric in emitted} == set(CLOUDWATCH_NAMES.values())
    for dims in emitted.values():
        assert dims == {"service": metrics.service}  # Powertools' one default dimension


def test_dashboard_metrics_are_this_stacks_resources() -> None:
    rule_name = by_name("OrderMetricsRule")["Name"]
    queues = {"<MetricsQueue.QueueName>", "<MetricsDeadLetterQueue.QueueName>"}
    for parameters, rule_dimensions in [
        ({}, {"EventBusName": "Serverlesspresso", "RuleName": rule_name}),
        ({"EventBusName": "default"}, {"RuleName": rule_name}),  # as for the rule alarms
    ]:
        rows = metric_rows(dashboard(parameters))
        for namespace, metric, dims in rows:
            if namespace == "AWS/SQS":
                assert set(dims) == {"QueueName"} and dims["QueueName"] in queues, metric
            elif namespace == "AWS/Lambda":
                assert dims == {"FunctionName": "<PublishMetricsFunction>"}, metric
            elif namespace == "AWS/Events":
                assert dims == rule_dimensions, metric
            else:
                assert namespace == "PressoMetrics", namespace
        assert {d["QueueName"] for ns, _, d in rows if ns == "AWS/SQS"} == queues


def test_dashboard_is_optional_and_its_url_an_output() -> None:
    assert resources("AWS::CloudWatch::Dashboard")["CloudWatchDashboard"]["Condition"] == (
        "WithCloudWatchDashboard"
    )
    assert conditions()["WithCloudWatchDashboard"]
    assert not conditions({"CreateCloudWatchDashboard": "false"})["WithCloudWatchDashboard"]
    outputs = translated()["Outputs"]
    url = render_sub(outputs["CloudWatchDashboardUrl"]["Value"])
    assert url == (
        "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2"
        "#dashboards:name=<CloudWatchDashboard>"
    )
    assert outputs["CloudWatchDashboardUrl"]["Condition"] == "WithCloudWatchDashboard"
    assert outputs["CloudWatchDashboardName"]["Condition"] == "WithCloudWatchDashboard"


def test_outputs_name_everything_a_user_needs() -> None:
    assert set(translated()["Outputs"]) >= {
        "EventBusName",
        "RuleArn",
        "MetricsQueueName",
        "MetricsQueueUrl",
        "DeadLetterQueueName",
        "DeadLetterQueueUrl",
        "TableName",
        "PublishMetricsFunctionName",
        "LoadTestFunctionName",
        "DeadLetterAlarmName",
        "RuleAlarmNames",
        "PublishMetricsLogGroupName",
    }
    names = translated()["Outputs"]["RuleAlarmNames"]["Value"]["Fn::Join"][1]
    assert names == [{"Ref": alarm} for alarm in RULE_ALARMS]


def test_lambda_requirements_match_the_project_pins() -> None:
    import tomllib

    project = tomllib.loads((TEMPLATE.parent / "pyproject.toml").read_text())
    pins = set(project["project"]["dependencies"])
    constraints = (TEMPLATE.parent / "constraints.txt").read_text().splitlines()
    pins |= {line.strip() for line in constraints if "==" in line}
    requirements = {
        line.strip()
        for line in (TEMPLATE.parent / "src" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert requirements <= pins


def when_deployed(value: Any) -> Any:
    """A conditional value as it is when its condition holds (Fn::If's second item)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        return when_deployed(value["Fn::If"][1])
    return value


def test_api_is_read_only_and_reads_only_the_table() -> None:
    (api,) = resources("AWS::ApiGatewayV2::Api").values()
    paths = api["Properties"]["Body"]["paths"]
    assert set(paths) == {"/", "/{proxy+}"}
    methods = {m for path in paths.values() for m in when_deployed(path)}
    assert methods == {"get"}, methods
    (statement,) = statements(resources("AWS::IAM::Role")["ReadMetricsFunctionRole"])
    assert statement["Resource"] == {"Fn::GetAtt": ["MetricsTable", "Arn"]}
    assert api["Condition"] == "WithApi"


def test_the_dedup_horizon_is_a_parameter_the_consumer_gets() -> None:
    """Markers must outlast every redelivery path: the template's default and minimum are the
    domain's (issue #10), and the consumer reads the value (DEDUP_HORIZON_DAYS)."""
    from presso_metrics.bootstrap import env_settings
    from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, MIN_DEDUP_HORIZON

    parameter = sam_template()["Parameters"]["DedupHorizonDays"]
    assert parameter["Default"] == DEFAULT_DEDUP_HORIZON.days
    assert parameter["MinValue"] == MIN_DEDUP_HORIZON.days
    variables = sam_template()["Resources"]["PublishMetricsFunction"]["Properties"]["Environment"]
    assert variables["Variables"]["DEDUP_HORIZON_DAYS"] == {"Ref": "DedupHorizonDays"}
    assert env_settings({"DEDUP_HORIZON_DAYS": "120"}).dedup_horizon.days == 120
