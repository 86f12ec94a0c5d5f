"""`make rotate-secret`: the stack's secret gets a new current value, the old one stays as
previous, and the stack is redeployed with its own template and parameters, only the rotation new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.provision import create_signing_secret
from infra.tools.rotate_secret import RotationRefusedError, rotate

STACK = "callback-requests-staging"


class FakeCloudFormation:
    """The stack as CloudFormation describes it (moto's CloudFormation cannot make this secret)."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        self.parameters = {"SigningSecretRotation": "0", "SenderEmail": "alerts@practice.example"}
        self.updates: list[dict[str, Any]] = []
        self.status = "UPDATE_COMPLETE"
        self.update_error: Exception | None = None

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        assert (StackName, LogicalResourceId) == (STACK, "SigningSecret")
        return {"StackResourceDetail": {"PhysicalResourceId": self.secret_arn}}

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        parameters = [
            {"ParameterKey": key, "ParameterValue": value} for key, value in self.parameters.items()
        ]
        return {"Stacks": [{"StackName": StackName, "StackStatus": self.status, "Parameters": parameters}]}

    def update_stack(self, **request: Any) -> None:
        if self.update_error is not None:
            raise self.update_error
        self.updates.append(request)
        for parameter in request["Parameters"]:
            if not parameter.get("UsePreviousValue"):
                self.parameters[parameter["ParameterKey"]] = parameter["ParameterValue"]


class Session:
    def __init__(self, cloudformation: FakeCloudFormation) -> None:
        self.cloudformation = cloudformation

    def client(self, service: str) -> Any:
        return self.cloudformation if service == "cloudformation" else boto3.client(service)


@pytest.fixture
def stack() -> Iterator[FakeCloudFormation]:
    """template.yaml's SigningSecret, as CloudFormation generated it, in moto's Secrets Manager."""
    with mock_aws():
        arn = create_signing_secret(boto3.session.Session(), f"{STACK}/signing-secret", "a" * 64)
        yield FakeCloudFormation(arn)


def secret_value(stack: FakeCloudFormation) -> dict[str, str]:
    return json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=stack.secret_arn)["SecretString"]
    )


def test_given_a_new_stack_then_its_secret_has_no_previous_value(stack: FakeCloudFormation) -> None:
    value = secret_value(stack)

    assert value["previous"] == "none"
    assert len(value["current"]) >= 32


def test_given_a_rotation_then_the_old_value_is_previous_and_only_the_rotation_parameter_changes(
    stack: FakeCloudFormation,
) -> None:
    before = secret_value(stack)

    rotation = rotate(Session(stack), STACK, now=1_800_000_000, wait=False)

    after = secret_value(stack)
    assert after["previous"] == before["current"]
    assert after["current"] != before["current"]
    assert len(after["current"]) == 64
    assert after["current"].isalnum()
    assert rotation == "1800000000"
    # The same template and every other parameter as they were: only the rotation is new.
    (update,) = stack.updates
    assert update["UsePreviousTemplate"] is True
    assert update["Parameters"] == [
        {"ParameterKey": "SigningSecretRotation", "ParameterValue": "1800000000"},
        {"ParameterKey": "SenderEmail", "UsePreviousValue": True},
    ]


def test_given_two_rotations_then_the_first_value_is_no_longer_kept(stack: FakeCloudFormation) -> None:
    first = secret_value(stack)["current"]

    rotate(Session(stack), STACK, now=1_800_000_000, wait=False)
    rotate(Session(stack), STACK, now=1_800_000_060, wait=False)

    assert first not in secret_value(stack).values()


def test_given_a_stack_being_updated_then_nothing_is_rotated(stack: FakeCloudFormation) -> None:
    before = secret_value(stack)
    stack.status = "UPDATE_IN_PROGRESS"  # a deploy still running

    with pytest.raises(RotationRefusedError, match="UPDATE_IN_PROGRESS: nothing was changed"):
        rotate(Session(stack), STACK, now=1_800_000_000, wait=False)

    assert secret_value(stack) == before
    assert stack.updates == []


def test_given_an_update_that_cannot_start_then_the_secret_is_put_back_and_a_retry_keeps_the_deployed_value(
    stack: FakeCloudFormation,
) -> None:
    deployed = secret_value(stack)["current"]  # what the functions sign with
    stack.update_error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UpdateStack")

    with pytest.raises(ClientError):
        rotate(Session(stack), STACK, now=1_800_000_000, wait=False)

    assert secret_value(stack)["current"] == deployed
    stack.update_error = None
    rotate(Session(stack), STACK, now=1_800_000_060, wait=False)  # the retry
    assert secret_value(stack)["previous"] == deployed
