"""``presso-metrics init --aws``: create the metrics stack's resources with boto3, for development
against an emulator (or an account without SAM). Idempotent: what exists is brought in line.

The properties match template.yaml (the tests compare them): a rule on the bus routing the
metrics' events to the queue (with the dead-letter queue and retry policy of its target), the
queue with its dead-letter queue and redrive policy, queue policies that let only that rule send
to either, and the table (PK/SK, on-demand, TTL on ``expires_at``, the AWS owned key).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from presso_metrics.adapters.aws import AwsClients
from presso_metrics.names import Names

FUNCTION_TIMEOUT = 30  # seconds, the consumer function's timeout in template.yaml
QUEUE_VISIBILITY_TIMEOUT = 6 * FUNCTION_TIMEOUT  # AWS's advice for Lambda event sources
RETENTION = 14 * 24 * 3600  # SQS's maximum, and the markers' lifetime
TTL_ATTRIBUTE = "expires_at"
# EventBridge's maxima for a target: retry for 24 hours, up to 185 times, then dead-letter.
RULE_RETRY_POLICY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
QUEUE_POLICY_SID = "OnlyTheMetricsRule"
DEAD_LETTER_QUEUE_POLICY_SID = "OnlyTheMetricsRuleDeadLetters"


def table_definition(name: str, kms_key_arn: str | None = None) -> dict[str, Any]:
    """``create_table`` arguments. Encrypted at rest with the AWS owned key (free) unless a
    customer managed KMS key is given (template.yaml's TableKmsKeyArn)."""
    sse: dict[str, Any] = {"Enabled": False}
    if kms_key_arn:
        sse = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key_arn}
    return {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": sse,
    }


def rule_target(queue_arn: str, dead_letter_queue_arn: str) -> dict[str, Any]:
    """The rule's one target: the queue, with what EventBridge cannot deliver dead-lettered."""
    return {
        "Id": "MetricsQueue",
        "Arn": queue_arn,
        "DeadLetterConfig": {"Arn": dead_letter_queue_arn},
        "RetryPolicy": dict(RULE_RETRY_POLICY),
    }


def queue_policy(queue_arn: str, rule_arn: str, sid: str = QUEUE_POLICY_SID) -> str:
    """Lets only the rule send to the queue (the target, or its dead-letter queue)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def provision_aws(
    names: Names, *, rule_pattern: dict[str, Any], time_zone: str, max_receive_count: int
) -> dict[str, Any]:
    clients = AwsClients.from_environment()
    try:
        bus_arn = _bus(clients.events, names.bus)
        dlq_url, dlq_arn = _queue(
            clients.sqs,
            names.dead_letter_queue,
            {
                "MessageRetentionPeriod": str(RETENTION),
                "SqsManagedSseEnabled": "true",
            },
        )
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
        queue_url, queue_arn = _queue(
            clients.sqs,
            names.queue,
            {
                "VisibilityTimeout": str(QUEUE_VISIBILITY_TIMEOUT),
                "MessageRetentionPeriod": str(RETENTION),
                "RedrivePolicy": json.dumps(redrive),
                "SqsManagedSseEnabled": "true",
            },
        )
        pattern = rule_pattern
        rule_arn = clients.events.put_rule(
            Name=names.rule,
            EventBusName=names.bus,
            EventPattern=json.dumps(pattern),
            State="ENABLED",
            Description="presso-metrics: order events to the metrics queue",
        )["RuleArn"]
        clients.events.put_targets(
            Rule=names.rule,
            EventBusName=names.bus,
            Targets=[rule_target(queue_arn, dlq_arn)],
        )
        clients.sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, rule_arn)}
        )
        clients.sqs.set_queue_attributes(
            QueueUrl=dlq_url,
            Attributes={
                "Policy": queue_policy(dlq_arn, rule_arn, sid=DEAD_LETTER_QUEUE_POLICY_SID)
            },
        )
        table_arn = _table(clients.dynamodb, names.table)
    finally:
        clients.close()
    return {
        "backend": "aws",
        "region": clients.region,
        "bus": {"name": names.bus, "arn": bus_arn},
        "rule": {
            "name": names.rule,
            "arn": rule_arn,
            "pattern": pattern,
            "target": queue_arn,
            "dead_letter_queue": dlq_arn,
            "retry_policy": dict(RULE_RETRY_POLICY),
        },
        "queue": {
            "name": names.queue,
            "url": queue_url,
            "arn": queue_arn,
            "visibility_timeout": QUEUE_VISIBILITY_TIMEOUT,
            "redrive_policy": redrive,
        },
        "dead_letter_queue": {"name": names.dead_letter_queue, "url": dlq_url, "arn": dlq_arn},
        "table": {"name": names.table, "arn": table_arn, "ttl_attribute": TTL_ATTRIBUTE},
        "time_zone": time_zone,
    }


def _bus(events: Any, name: str) -> str:
    if name == "default":
        return str(events.describe_event_bus()["Arn"])
    try:
        return str(events.describe_event_bus(Name=name)["Arn"])
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    return str(events.create_event_bus(Name=name)["EventBusArn"])


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as e:
        if "QueueAlreadyExists" not in e.response["Error"]["Code"]:
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return str(url), str(arn)


def _table(dynamodb: Any, name: str) -> str:
    try:
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        arn = dynamodb.create_table(**table_definition(name))["TableDescription"]["TableArn"]
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return str(arn)
