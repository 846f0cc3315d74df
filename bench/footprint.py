"""Footprint: the worker's peak memory while draining, and the Lambda package's size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from tests.lambda_package import build, size_bytes

from bench.data import realistic_stream

CLI = str(Path(sys.executable).parent / "presso-metrics")


def worker_peak_rss(deliveries: int = 50_000, batch_size: int = 1000) -> dict[str, Any]:
    """The peak resident memory of `presso-metrics worker --drain`, sampled every 10 ms."""
    import psutil

    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        env = {**os.environ, "PRESSO_METRICS_DB": f"{tmp}/footprint.db"}
        data = Path(tmp) / "events.jsonl"
        data.write_text("\n".join(json.dumps(e) for e in realistic_stream(deliveries)))
        subprocess.run([CLI, "publish", str(data)], env=env, check=True, capture_output=True)
        worker = subprocess.Popen(
            [CLI, "worker", "--drain", "--batch-size", str(batch_size)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        process = psutil.Process(worker.pid)
        peak = 0
        while worker.poll() is None:
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)
        assert worker.returncode == 0
    return {
        "worker_peak_rss_mb": round(peak / 2**20, 1),
        "worker_deliveries": deliveries,
        "worker_batch_size": batch_size,
    }


def lambda_package() -> dict[str, Any]:
    """The consumer function's package as `sam build` makes it for arm64, without boto3 (the
    Lambda runtime provides it)."""
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        package = build(Path(tmp) / "package", platform="manylinux2014_aarch64")
        unzipped = size_bytes(package)
        archive = Path(tmp) / "package.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for f in package.rglob("*"):
                if f.is_file():
                    z.write(f, f.relative_to(package))
        has_boto3 = (package / "boto3").exists()
        zipped = archive.stat().st_size
    return {
        "lambda_package_mb": round(unzipped / 1e6, 2),
        "lambda_package_zip_mb": round(zipped / 1e6, 2),
        "lambda_package_includes_boto3": has_boto3,
    }


def run() -> dict[str, Any]:
    return {**worker_peak_rss(), **lambda_package()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
