"""template.yaml as CloudFormation receives it: after SAM's transform, by the SAM CLI's own translator.

What SAM adds (stages, deployments, roles, permissions) only shows here, so the stage, its
settings and the notifier's role are checked on this translation, not on the template as written.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.translated import translate


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    # With the web ACL on, so its association is in the translation (SAM keeps its Condition).
    translated: dict[str, dict[str, Any]] = translate(EnableWebAcl="true")["Resources"]
    return translated


def _of_type(resources: dict[str, dict[str, Any]], type_name: str) -> dict[str, dict[str, Any]]:
    return {name: definition for name, definition in resources.items() if definition["Type"] == type_name}


def test_given_the_translated_api_then_it_has_exactly_one_stage(resources: dict[str, dict[str, Any]]) -> None:
    stages = _of_type(resources, "AWS::ApiGateway::Stage")
    deployments = _of_type(resources, "AWS::ApiGateway::Deployment")

    assert [stage["Properties"]["StageName"] for stage in stages.values()] == ["v1"]
    # A deployment naming a stage creates it (SAM's implicit "Stage"), beside v1 and unguarded.
    assert len(deployments) == 1
    assert all("StageName" not in deployment["Properties"] for deployment in deployments.values())
    assert not any(name.endswith("PermissionStage") for name in resources)


def test_given_the_one_stage_then_it_throttles_logs_and_traces(resources: dict[str, dict[str, Any]]) -> None:
    ((_, stage),) = _of_type(resources, "AWS::ApiGateway::Stage").items()
    props = stage["Properties"]
    (throttle,) = props["MethodSettings"]
    log_format = json.loads(props["AccessLogSetting"]["Format"])

    assert (throttle["ResourcePath"], throttle["HttpMethod"]) == ("/*", "*")
    assert throttle["ThrottlingRateLimit"] == {"Ref": "ThrottleRateLimit"}
    assert throttle["ThrottlingBurstLimit"] == {"Ref": "ThrottleBurstLimit"}
    assert props["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["CallbackApiAccessLogs", "Arn"]}
    assert log_format["stage"] == "$context.stage"
    assert props["TracingEnabled"] is True


def test_given_the_web_acl_then_it_guards_the_one_stage(resources: dict[str, dict[str, Any]]) -> None:
    ((stage_id, _),) = _of_type(resources, "AWS::ApiGateway::Stage").items()
    ((_, association),) = _of_type(resources, "AWS::WAFv2::WebACLAssociation").items()
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]

    assert association["Condition"] == "HasWebAcl"
    assert arn.endswith(f"/restapis/${{CallbackApi}}/stages/${{{stage_id}}}")


def test_given_the_translated_api_then_its_gateway_answers_carry_the_shape_and_cors_headers(
    resources: dict[str, dict[str, Any]],
) -> None:
    ((_, api),) = _of_type(resources, "AWS::ApiGateway::RestApi").items()
    answers = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]

    assert set(answers) == {
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "THROTTLED",
        "WAF_FILTERED",
        "REQUEST_TOO_LARGE",
        "INTEGRATION_TIMEOUT",
    }
    assert answers["THROTTLED"]["statusCode"] == "429"
    for response_type, answer in answers.items():
        parameters = answer["responseParameters"]
        body = json.loads(answer["responseTemplates"]["application/json"])
        assert (
            parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
        )
        assert parameters["gatewayresponse.header.Vary"] == "'Origin'"
        assert set(body) == {"error", "message", "errors"}, response_type
        assert "662-377-6290" in body["message"], response_type


def test_given_the_translated_roles_then_no_function_may_read_every_stream(
    resources: dict[str, dict[str, Any]],
) -> None:
    roles = _of_type(resources, "AWS::IAM::Role")
    notify = resources["NotifyFunction"]["Properties"]
    (mapping,) = _of_type(resources, "AWS::Lambda::EventSourceMapping").values()

    for name, role in roles.items():
        managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        assert "AWSLambdaDynamoDBExecutionRole" not in managed, name
    assert notify["Role"] == {"Fn::GetAtt": ["NotifyFunctionRole", "Arn"]}
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["CallbackRequestsTable", "StreamArn"]}
    statements = [
        statement
        for policy in roles["NotifyFunctionRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    for statement in statements:
        if "Stream" in json.dumps(statement["Action"]) or "GetRecords" in json.dumps(statement["Action"]):
            assert "CallbackRequestsTable" in json.dumps(statement["Resource"])
