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
    # arm64 as deployed; the parameter lets `sam local` run them natively on an x86_64 machine.
    assert function_globals["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    assert function_globals["CodeUri"] == "functions/"
    assert {props["Handler"] for props in functions.values()} == {
        "callbacks.intake.lambda_handler",
        "callbacks.notify.lambda_handler",
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
    statements = resource("NotifyFunction")["Properties"]["Policies"][0]["Statement"]
    actions = {json.dumps(statement["Action"]): statement for statement in statements}

    assert set(actions) == {'["dynamodb:UpdateItem", "dynamodb:GetItem"]', '"ses:SendEmail"'}
    assert actions['["dynamodb:UpdateItem", "dynamodb:GetItem"]']["Resource"] == {
        "Fn::GetAtt": ["CallbackRequestsTable", "Arn"]
    }
    send = actions['"ses:SendEmail"']
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}
    assert all("*" not in json.dumps(target) for target in send["Resource"])
