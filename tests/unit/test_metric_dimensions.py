"""No metric dimension takes a value from the visitor beyond a small fixed set: a bot cannot add
billed series by varying what it sends."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from callbacks.core import observability

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions" / "callbacks"


def emitted(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    blob: dict[str, object] = json.loads(line)
    return blob


def test_given_a_value_outside_its_dimensions_set_then_it_is_counted_as_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    observability.count_by_dimension("CallbackRequestRejected", "reason", "anything a bot makes up 4711")

    assert emitted(capsys)["reason"] == "other"


@pytest.mark.parametrize(("dimension", "values"), sorted(observability.DIMENSION_VALUES.items()))
def test_given_a_known_value_then_it_is_counted_under_its_own_name(
    dimension: str, values: frozenset[str], capsys: pytest.CaptureFixture[str]
) -> None:
    value = sorted(values)[0]
    observability.count_by_dimension("SomeCount", dimension, value)

    assert emitted(capsys)[dimension] == value


def test_given_the_code_then_every_dimension_it_counts_by_has_a_fixed_set_of_values() -> None:
    dimensions = set()
    for path in FUNCTIONS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "count_by_dimension":
                dimension = node.args[1]
                assert isinstance(dimension, ast.Constant), (
                    f"{path.name}:{node.lineno}: a fixed dimension name"
                )
                dimensions.add(dimension.value)
            elsewhere = path.name != "observability.py"  # count_by_dimension's own add_dimension
            if elsewhere and isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_dimension":
                raise AssertionError(f"{path.name}:{node.lineno}: dimensions only through count_by_dimension")

    assert dimensions == set(observability.DIMENSION_VALUES)
    assert all(len(values) <= 10 for values in observability.DIMENSION_VALUES.values())


# A process of a second stack, as Lambda starts it: the template gives POWERTOOLS_SERVICE_NAME the
# stack's name. Both kinds of metric, and the log line, must carry it, or the two stacks' alarms mix.
SECOND_STACK = """
from callbacks.core.observability import count_by_dimension, logger, metrics
from aws_lambda_powertools.metrics import MetricUnit
metrics.add_metric(name="CallbackRequestStored", unit=MetricUnit.Count, value=1)
metrics.flush_metrics()
count_by_dimension("CallbackRequestRejected", "reason", "invalid_fields")
logger.info("a line")
"""


def test_given_a_second_stack_then_its_metrics_and_logs_carry_its_own_service(tmp_path: Path) -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "POWERTOOLS_SERVICE_NAME": "callback-requests-staging",
        "POWERTOOLS_METRICS_NAMESPACE": "CallbackRequests",
    }
    result = subprocess.run(
        [sys.executable, "-c", SECOND_STACK],
        capture_output=True,
        text=True,
        check=True,
        cwd=FUNCTIONS.parent,
        env=environment,
        timeout=60,
    )
    blobs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    metric_blobs = [blob for blob in blobs if "_aws" in blob]
    assert [sorted(blob) for blob in metric_blobs] == [
        ["CallbackRequestStored", "_aws", "service"],
        ["CallbackRequestRejected", "_aws", "reason", "service"],
    ]
    assert {blob["service"] for blob in blobs} == {"callback-requests-staging"}
