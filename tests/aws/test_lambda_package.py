"""The package `sam build` makes from template.yaml's CodeUri runs the handler with only its
requirements (boto3 comes with the Lambda runtime)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.aws_emulator import Emulator
from tests.conftest import EVENTS
from tests.lambda_package import build
from tests.sam import sam_template, table_from_template

PROBE = r"""
import json, sys
from presso_metrics.entrypoints import lambda_handler
class Context:
    function_name = "PublishMetrics"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-west-2:1:function:PublishMetrics"
event = json.load(open(sys.argv[1]))
print(json.dumps(lambda_handler.handler(event, Context())))
import aws_lambda_powertools, orjson, tzdata, presso_metrics
print(json.dumps({
    "from_package": [m.__file__ for m in (aws_lambda_powertools, orjson, tzdata, presso_metrics)],
    "cli_loaded": [m for m in ("click", "rich", "fastapi", "uvicorn") if m in sys.modules],
}))
"""


def test_packaged_handler_runs_with_only_its_requirements(aws: Emulator, tmp_path: Path) -> None:
    assert sam_template()["Globals"]["Function"]["CodeUri"] == "src/"
    package = build(tmp_path / "package")
    aws.client("dynamodb").create_table(**table_from_template())
    dlq = aws.client("sqs").create_queue(QueueName="MetricsQueue-DLQ")["QueueUrl"]
    runtime_boto3 = Path(__import__("boto3").__file__).parents[1]  # the runtime provides boto3
    env = {
        **aws.env,
        "PYTHONPATH": f"{package}:{runtime_boto3}",
        "TABLE_NAME": "serverlesspresso-metrics-table",
        "DEAD_LETTER_QUEUE_URL": dlq,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, str(EVENTS / "sqs-batch.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith('{"')]
    assert {"batchItemFailures": []} in lines
    probe = lines[-1]
    assert all(path.startswith(str(package)) for path in probe["from_package"]), probe
    assert probe["cli_loaded"] == []
