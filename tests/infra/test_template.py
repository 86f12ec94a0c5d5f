"""What template.yaml promises: the resources of the design, their safety settings, the contract.

cfn-lint and `sam validate --lint` check the template itself in `make lint`, not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.provision import load_template, resource, resource_of_type

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_given_the_contract_then_the_deployment_parameters_exist(template: dict[str, Any]) -> None:
    assert {"SenderEmail", "OfficeEmails", "AllowedOrigins", "ThankYouUrl"} <= set(template["Parameters"])
    assert {"RetentionDays", "EmailIncludeDetails", "ThrottleRateLimit", "ThrottleBurstLimit"} <= set(
        template["Parameters"]
    )


def test_given_the_table_then_it_is_on_demand_with_pitr_encryption_ttl_and_a_new_image_stream() -> None:
    _, table = resource_of_type("AWS::DynamoDB::Table")
    props = table["Properties"]

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["StreamSpecification"]["StreamViewType"] in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    assert table["DeletionPolicy"] == "Retain"


def test_given_the_functions_then_both_ship_one_code_directory_on_python_313_arm64(
    template: dict[str, Any],
) -> None:
    function_globals = template["Globals"]["Function"]
    functions = {
        logical_id: definition["Properties"]
        for logical_id, definition in template["Resources"].items()
        if definition["Type"] == "AWS::Serverless::Function"
    }

    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["CodeUri"] == "functions/"
    assert {props["Handler"] for props in functions.values()} == {
        "callbacks.intake.lambda_handler",
        "callbacks.notify.lambda_handler",
        "callbacks.sweep.lambda_handler",
        "callbacks.delivery_events.lambda_handler",
    }
    assert all("CodeUri" not in props and "Layers" not in props for props in functions.values())
    for props in functions.values():
        module = props["Handler"].rsplit(".", 1)[0].replace(".", "/")
        assert (ROOT / "functions" / f"{module}.py").is_file()


def test_given_the_api_then_it_routes_the_contract_and_throttles() -> None:
    events = resource("IntakeFunction")["Properties"]["Events"]
    routes = {(event["Properties"]["Method"], event["Properties"]["Path"]) for event in events.values()}
    api = resource("CallbackApi")["Properties"]

    assert {
        ("POST", "/callback-requests"),
        ("OPTIONS", "/callback-requests"),
        ("GET", "/callback-form.js"),
    } == routes
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ThrottleRateLimit"}
    assert api["MethodSettings"][0]["ThrottlingBurstLimit"] == {"Ref": "ThrottleBurstLimit"}
    assert "multipart~1form-data" in api["BinaryMediaTypes"]
    assert "DestinationArn" in api["AccessLogSetting"]


def test_given_the_intake_function_then_it_may_only_write_its_table_and_read_its_secrets() -> None:
    statements = resource("IntakeFunction")["Properties"]["Policies"][0]["Statement"]

    table, secrets = statements
    # Puts (the request, its markers) and Updates (the spam caps) in one TransactWriteItems.
    assert table == {
        "Effect": "Allow",
        "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": {"Fn::GetAtt": ["CallbackRequestsTable", "Arn"]},
    }
    assert secrets["Action"] == "ssm:GetParameter"
    signing, turnstile = secrets["Resource"]
    assert "${SigningSecretParameter}" in signing["Fn::Sub"]
    assert turnstile["Fn::If"][0] == "HasTurnstile"
    assert not any("Delete" in str(statement) or "*" in str(statement["Action"]) for statement in statements)


def test_given_the_access_log_format_then_it_carries_no_request_body_or_query() -> None:
    log_format = resource("CallbackApi")["Properties"]["AccessLogSetting"]["Format"]

    assert "$context.requestId" in log_format
    assert "body" not in log_format.lower()
    assert "querystring" not in log_format.lower()


def test_given_the_notifier_then_it_reads_new_requests_with_bounded_retries_and_a_dead_letter_queue() -> None:
    events = resource("NotifyFunction")["Properties"]["Events"]
    (stream,) = [event["Properties"] for event in events.values() if event["Type"] == "DynamoDB"]

    assert stream["Stream"] == {"Fn::GetAtt": ["CallbackRequestsTable", "StreamArn"]}
    assert stream["BatchSize"] <= 10
    assert stream["BisectBatchOnFunctionError"] is True
    assert 0 < stream["MaximumRetryAttempts"] <= 20
    assert 0 < stream["MaximumRecordAgeInSeconds"] <= 86400
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["StaffAlertDeadLetterQueue", "Arn"]},
    }
    (pattern,) = [json.loads(item["Pattern"]) for item in stream["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "request#"}]}}}}


def test_given_the_dead_letter_queue_then_an_alarm_watches_its_depth() -> None:
    alarm = resource("StaffAlertDeadLetterAlarm")["Properties"]

    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["StaffAlertDeadLetterQueue", "QueueName"]}
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"]


def test_given_the_staff_email_then_it_goes_through_a_configuration_set_that_requires_tls() -> None:
    _, config_set = resource_of_type("AWS::SES::ConfigurationSet")
    env = resource("NotifyFunction")["Properties"]["Environment"]["Variables"]

    assert config_set["Properties"]["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert env["SES_CONFIGURATION_SET"] == {"Ref": "StaffAlertConfigurationSet"}


def test_given_the_notifier_then_it_may_send_only_from_the_sender_and_only_update_the_table() -> None:
    assert resource("NotifyFunction")["Properties"]["Policies"] == [{"Ref": "StaffAlertSenderPolicy"}]
    statements = resource("StaffAlertSenderPolicy")["Properties"]["PolicyDocument"]["Statement"]
    actions = {json.dumps(statement["Action"]): statement for statement in statements}

    assert set(actions) == {'"dynamodb:UpdateItem"', '"ses:SendEmail"'}
    assert actions['"dynamodb:UpdateItem"']["Resource"] == {"Fn::GetAtt": ["CallbackRequestsTable", "Arn"]}
    send = actions['"ses:SendEmail"']
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}
    assert all("*" not in json.dumps(target) for target in send["Resource"])


def _timeout(logical_id: str, template: dict[str, Any]) -> int:
    props = resource(logical_id)["Properties"]
    return int(props.get("Timeout", template["Globals"]["Function"]["Timeout"]))


def test_given_the_table_then_a_sparse_index_finds_unsent_alerts_oldest_first() -> None:
    from callbacks import store

    _, table = resource_of_type("AWS::DynamoDB::Table")
    (index,) = [
        gsi
        for gsi in table["Properties"]["GlobalSecondaryIndexes"]
        if gsi["IndexName"] == store.ALERT_PENDING_INDEX
    ]

    assert index["KeySchema"] == [
        {"AttributeName": "alert_pending", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    types = {d["AttributeName"]: d["AttributeType"] for d in table["Properties"]["AttributeDefinitions"]}
    assert types["alert_pending"] == types["created_at"] == "S"


def test_given_the_sweep_then_it_runs_every_5_minutes_and_may_only_query_the_unsent_index() -> None:
    props = resource("StaffAlertSweepFunction")["Properties"]
    (schedule,) = props["Events"].values()
    statements = [
        statement
        for policy in props["Policies"]
        if "Statement" in policy
        for statement in policy["Statement"]
    ]

    assert props["Handler"] == "callbacks.sweep.lambda_handler"
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Sub": "${CallbackRequestsTable.Arn}/index/alert-pending"},
        }
    ]
    assert {"Ref": "StaffAlertSenderPolicy"} in props["Policies"]
    assert {"Ref": "StaffAlertSenderPolicy"} in resource("NotifyFunction")["Properties"]["Policies"]


def test_given_the_budgets_then_a_whole_batch_fits_the_notifier_timeout_with_a_third_to_spare(
    template: dict[str, Any],
) -> None:
    from callbacks.alerting import worst_case_alert_seconds

    events = resource("NotifyFunction")["Properties"]["Events"]
    (stream,) = [event["Properties"] for event in events.values() if event["Type"] == "DynamoDB"]

    # 23.5 s per alert (claim 4 + send 6 + 3 tries of the record 3 x 4 + pauses 1.5) x 5 = 117.5 s.
    assert worst_case_alert_seconds() == 23.5
    assert stream["BatchSize"] * worst_case_alert_seconds() <= _timeout("NotifyFunction", template) * 2 / 3


def test_given_the_claim_window_then_no_claiming_function_outlives_it_and_recovery_fits_15_minutes(
    template: dict[str, Any],
) -> None:
    from callbacks.settings import Settings

    settings = Settings()
    schedule_minutes = 5

    # A claim older than the stale window belongs to an invocation that has certainly ended.
    for function in ("NotifyFunction", "StaffAlertSweepFunction"):
        assert settings.alert_claim_stale_seconds > _timeout(function, template)
    # SES back -> at most one schedule period to the next run (+ a stale window for a kept claim).
    assert settings.alert_claim_stale_seconds + schedule_minutes * 60 <= 15 * 60


def test_given_the_configuration_set_then_delivery_problems_reach_the_delivery_events_function() -> None:
    destination = resource("StaffAlertEventDestination")["Properties"]
    rule = resource("DeliveryEventsFunction")["Properties"]["Events"]["StaffAlertDeliveryProblem"]

    assert destination["ConfigurationSetName"] == {"Ref": "StaffAlertConfigurationSet"}
    assert {"BOUNCE", "COMPLAINT", "REJECT"} <= set(destination["EventDestination"]["MatchingEventTypes"])
    assert destination["EventDestination"]["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"].endswith(
        ":event-bus/default"
    )
    pattern = rule["Properties"]["Pattern"]
    assert rule["Type"] == "EventBridgeRule"
    assert pattern["source"] == ["aws.ses"]
    assert {"Email Bounced", "Email Complaint Received", "Email Rejected"} <= set(pattern["detail-type"])
    assert pattern["detail"]["mail"]["tags"]["ses:configuration-set"] == [
        {"Ref": "StaffAlertConfigurationSet"}
    ]
