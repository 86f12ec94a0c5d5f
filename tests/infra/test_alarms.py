"""Alarms that reach a person: each failure the office or the developer must act on, and silence.

The custom metrics the alarms watch are listed once, here, read from template.yaml itself; the
test at the end holds them against the names the code emits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.provision import load_template, resource

ROOT = Path(__file__).resolve().parents[2]
TOPIC = {"Ref": "StaffAlertAlarmTopic"}
# The custom metrics the alarms expect the code to emit, with their dimensions (name -> value).
# Each stack's own functions: the service dimension is the stack's name (POWERTOOLS_SERVICE_NAME).
SERVICE = {"service": {"Ref": "AWS::StackName"}}
ALARMED_METRICS = {
    "StorageUnavailable": SERVICE,
    "StaffAlertFailed": SERVICE,
    "StaffAlertBounced": SERVICE,
    "StaffAlertComplained": SERVICE,
    "CallbackRequestStored": SERVICE,
    "CallbackRequestRejected": {**SERVICE, "reason": "origin_not_allowed"},
}
# Alarmed before the code emits them: the SES bounce and complaint handler (issue 8) will. Once it
# does, the last test fails until they are taken off this list.
NOT_EMITTED_YET: set[str] = set()  # every alarmed metric is emitted now


@pytest.fixture(scope="module")
def alarms() -> dict[str, dict[str, Any]]:
    return {
        logical_id: definition["Properties"]
        for logical_id, definition in load_template()["Resources"].items()
        if definition["Type"] == "AWS::CloudWatch::Alarm"
    }


def _dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def _watching(alarms: dict[str, dict[str, Any]], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [a for a in alarms.values() if (a["Namespace"], a["MetricName"]) == (namespace, metric)]


def test_given_the_alarm_email_then_it_is_required_checked_and_subscribed() -> None:
    parameter = load_template()["Parameters"]["AlarmEmail"]
    pattern = re.compile(parameter["AllowedPattern"])
    subscription = resource("StaffAlertAlarmSubscription")

    assert "Default" not in parameter
    assert pattern.fullmatch("developer@example.com")
    for wrong in ("", "developer", "developer@example", "a@example.com,b@example.com", "dev @example.com"):
        assert not pattern.fullmatch(wrong), wrong
    assert "Condition" not in subscription
    assert subscription["Properties"] == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_given_the_alarm_topic_then_cloudwatch_may_use_its_key_which_rotates() -> None:
    topic = resource("StaffAlertAlarmTopic")["Properties"]
    key = resource("MonitoringKey")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]

    # alias/aws/sns's policy does not let CloudWatch publish: alarms on such a topic reach nobody.
    assert topic["KmsMasterKeyId"] == {"Ref": "MonitoringKey"}
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert cloudwatch["Effect"] == "Allow"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch["Action"])
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_given_any_alarm_then_it_notifies_the_topic_and_says_what_to_do(
    alarms: dict[str, dict[str, Any]],
) -> None:
    for name, alarm in alarms.items():
        description = json.dumps(alarm["AlarmDescription"])
        assert alarm["AlarmActions"] == [TOPIC], name
        assert len(description.split()) >= 25, name
        # Addressed to someone: the office or the developer, or an instruction to check something.
        assert re.search(r"\b(Developer|Office|Check)\b", description), name
        assert alarm["TreatMissingData"] in ("notBreaching", "breaching"), name


def test_given_the_dead_letter_queue_then_its_depth_and_every_new_arrival_alarm(
    alarms: dict[str, dict[str, Any]],
) -> None:
    queue = {"QueueName": {"Fn::GetAtt": ["StaffAlertDeadLetterQueue", "QueueName"]}}
    (depth,) = _watching(alarms, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    (arrivals,) = _watching(alarms, "AWS/SQS", "NumberOfMessagesSent")

    assert _dimensions(depth) == queue
    assert (depth["Statistic"], depth["ComparisonOperator"], depth["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    )
    assert depth["OKActions"] == [TOPIC]
    # The depth alarm stays in ALARM while the first message sits unpurged; this one counts arrivals.
    assert _dimensions(arrivals) == queue
    assert (arrivals["Statistic"], arrivals["ComparisonOperator"], arrivals["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )
    assert arrivals["Period"] <= 300


def test_given_each_function_then_its_errors_and_throttles_alarm(alarms: dict[str, dict[str, Any]]) -> None:
    functions = [
        logical_id
        for logical_id, definition in load_template()["Resources"].items()
        if definition["Type"] == "AWS::Serverless::Function"
    ]

    assert functions
    for function in functions:
        for metric in ("Errors", "Throttles"):
            watching = [
                a
                for a in _watching(alarms, "AWS/Lambda", metric)
                if _dimensions(a) == {"FunctionName": {"Ref": function}}
            ]
            assert len(watching) == 1, (function, metric)
            (alarm,) = watching
            assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
                "Sum",
                "GreaterThanThreshold",
                0,
            )


def test_given_the_stream_then_late_staff_emails_alarm(alarms: dict[str, dict[str, Any]]) -> None:
    (alarm,) = _watching(alarms, "AWS/Lambda", "IteratorAge")

    assert _dimensions(alarm) == {"FunctionName": {"Ref": "NotifyFunction"}}
    assert alarm["Statistic"] == "Maximum"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    # Milliseconds: an email more than a quarter of an hour late is worth a look, a few seconds not.
    assert 60_000 <= alarm["Threshold"] <= 900_000


def test_given_the_api_then_server_errors_on_its_one_stage_alarm(alarms: dict[str, dict[str, Any]]) -> None:
    api = resource("CallbackApi")["Properties"]
    (alarm,) = _watching(alarms, "AWS/ApiGateway", "5XXError")

    # CloudWatch names a REST API by its name and stage.
    assert _dimensions(alarm) == {"ApiName": api["Name"], "Stage": api["StageName"]}
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )


def test_given_the_custom_metrics_then_each_alarm_names_the_codes_namespace_and_dimensions(
    alarms: dict[str, dict[str, Any]],
) -> None:
    environment = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    custom = [a for a in alarms.values() if not a["Namespace"].startswith("AWS/")]
    alarmed = {a["MetricName"]: _dimensions(a) for a in custom}

    assert len(alarmed) == len(custom), "one alarm per custom metric"
    assert {a["Namespace"] for a in custom} == {environment["POWERTOOLS_METRICS_NAMESPACE"]}
    assert {"service": environment["POWERTOOLS_SERVICE_NAME"]} == SERVICE
    assert alarmed == ALARMED_METRICS


def test_given_storage_alert_bounce_and_complaint_metrics_then_one_occurrence_alarms(
    alarms: dict[str, dict[str, Any]],
) -> None:
    for metric in ("StorageUnavailable", "StaffAlertFailed", "StaffAlertBounced", "StaffAlertComplained"):
        (alarm,) = _watching(alarms, "CallbackRequests", metric)
        assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "Sum",
            "GreaterThanThreshold",
            0,
        ), metric
        assert alarm["TreatMissingData"] == "notBreaching", metric
        assert alarm["OKActions"] == [TOPIC], metric


def test_given_no_request_stored_for_three_days_then_the_heartbeat_alarms_and_says_to_check_the_form(
    alarms: dict[str, dict[str, Any]],
) -> None:
    template = load_template()
    parameters = template["Parameters"]
    (alarm,) = _watching(alarms, "CallbackRequests", "CallbackRequestStored")
    window = template["Mappings"]["HeartbeatWindow"]

    assert alarm["Period"] == {
        "Fn::FindInMap": ["HeartbeatWindow", {"Ref": "HeartbeatWindowDays"}, "Seconds"]
    }
    assert set(window) == set(parameters["HeartbeatWindowDays"]["AllowedValues"])
    for days, seconds in window.items():
        assert seconds == {"Seconds": int(days) * 86400}
    # CloudWatch evaluates at most seven days: one period of the whole window.
    assert alarm["EvaluationPeriods"] == 1
    assert window[parameters["HeartbeatWindowDays"]["Default"]]["Seconds"] == 3 * 86400
    assert alarm["Threshold"] == {"Ref": "HeartbeatMinimumRequests"}
    assert parameters["HeartbeatMinimumRequests"]["Default"] == 1
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Sum", "LessThanThreshold")
    # No request at all publishes no data point: missing data must count as silence.
    assert alarm["TreatMissingData"] == "breaching"
    assert "form still posts" in json.dumps(alarm["AlarmDescription"])


def test_given_a_run_of_refused_origins_then_an_alarm_says_to_check_allowed_origins(
    alarms: dict[str, dict[str, Any]],
) -> None:
    (alarm,) = _watching(alarms, "CallbackRequests", "CallbackRequestRejected")

    assert _dimensions(alarm)["reason"] == "origin_not_allowed"
    assert alarm["Threshold"] == {"Ref": "OriginRefusalThreshold"}
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Sum", "GreaterThanOrEqualToThreshold")
    assert "AllowedOrigins" in json.dumps(alarm["AlarmDescription"])


def _code() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "functions").rglob("*.py"))


def _string_literals(code: str) -> set[str]:
    # Metric names reach Powertools as literals (add_metric, single_metric, a helper's argument).
    return set(re.findall(r"""["']([A-Za-z_]\w*)["']""", code))


def test_given_the_alarmed_metrics_then_the_code_emits_each_under_that_name(
    alarms: dict[str, dict[str, Any]],
) -> None:
    # Read from the template, so an alarm added there is held against the code too.
    alarmed = {a["MetricName"] for a in alarms.values() if not a["Namespace"].startswith("AWS/")}
    code = _code()
    literals = _string_literals(code)

    assert re.search(r"add_metric|single_metric", code), "no metric emitted under functions/"
    assert alarmed - NOT_EMITTED_YET <= literals, alarmed - NOT_EMITTED_YET - literals
    # Keeps the list honest: once the handler emits them, take them off NOT_EMITTED_YET.
    assert not NOT_EMITTED_YET & literals


def test_given_an_alarm_on_a_dimension_beyond_service_then_the_code_sets_it_with_that_value(
    alarms: dict[str, dict[str, Any]],
) -> None:
    code = _code()
    extra = {
        (name, value)
        for alarm in alarms.values()
        if not alarm["Namespace"].startswith("AWS/")
        for name, value in _dimensions(alarm).items()
        if name != "service"
    }

    assert extra == {("reason", "origin_not_allowed")}
    assert "add_dimension(" in code
    for name, value in extra:
        assert name in _string_literals(code), name
        assert value in _string_literals(code), value
