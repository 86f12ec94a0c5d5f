"""What `sam local` relies on in the template, the env-vars file and the sample events (no Docker here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from callbacks.adapters import aws, store

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "infra" / "events"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt ...) read as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(
        (ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader
    )
    return loaded


def env_vars() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(
        (ROOT / "infra" / "sam" / "env-vars.json").read_text("utf-8")
    )
    return loaded


def declared_variables(function: str) -> set[str]:
    spec = template()
    names = set(spec["Globals"]["Function"]["Environment"]["Variables"])
    own = spec["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    return names | set(own)


def test_architecture_is_a_parameter_defaulting_to_arm64() -> None:
    parameter = template()["Parameters"]["Architecture"]
    assert parameter["Default"] == "arm64"
    assert set(parameter["AllowedValues"]) == {"arm64", "x86_64"}


def test_the_template_declares_the_endpoint_variable_without_a_value() -> None:
    """SAM CLI passes a function only declared variables; CloudFormation drops an AWS::NoValue."""
    from infra.provision import load_template

    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["AWS_ENDPOINT_URL"] == {"Ref": "AWS::NoValue"}


@pytest.mark.parametrize(
    ("service", "real_endpoint"),
    [
        ("dynamodb", "https://dynamodb.us-east-1.amazonaws.com"),
        ("sesv2", "https://email.us-east-1.amazonaws.com"),
    ],
)
def test_without_an_endpoint_variable_a_function_talks_to_the_real_aws(
    monkeypatch: pytest.MonkeyPatch, service: str, real_endpoint: str
) -> None:
    """A deployed function: the template gives it no AWS_ENDPOINT_URL, and the platform sets none."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    aws.reset_clients()
    client = aws.dynamodb() if service == "dynamodb" else aws.sesv2()
    assert client.meta.endpoint_url == real_endpoint


def test_a_set_endpoint_variable_reaches_the_local_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", env_vars()["IntakeFunction"]["AWS_ENDPOINT_URL"])
    aws.reset_clients()
    assert aws.dynamodb().meta.endpoint_url == "http://host.docker.internal:5000"


@pytest.mark.parametrize("function", ["IntakeFunction", "NotifyFunction"])
def test_every_env_vars_value_is_declared_so_sam_passes_it(function: str) -> None:
    assert set(env_vars()[function]) <= declared_variables(function)
    assert "AWS_ENDPOINT_URL" in env_vars()[function]


@pytest.mark.parametrize("name", ["post-json", "post-form", "post-multipart", "preflight"])
def test_the_sample_events_come_from_an_allowed_origin(name: str) -> None:
    event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    allowed = env_vars()["IntakeFunction"]["ALLOWED_ORIGINS"].split(",")
    assert event["headers"]["Origin"] in allowed
    assert event["multiValueHeaders"]["Origin"] == [event["headers"]["Origin"]]


def test_the_stream_sample_is_a_new_stored_request() -> None:
    """The notifier's sample: an INSERT of a request# item whose image reads back as a stored request."""
    (record,) = json.loads((EVENTS / "stream-insert.json").read_text(encoding="utf-8"))["Records"]
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["Keys"]["pk"]["S"].startswith(store.REQUEST_PREFIX)
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    image = DynamoDBRecord(record).dynamodb.new_image  # type: ignore[union-attr]
    request = store.request_from_image(image)
    assert store.REQUEST_PREFIX + request.id == record["dynamodb"]["Keys"]["pk"]["S"]
    assert store.request_item(request) == record["dynamodb"]["NewImage"]


def test_the_local_stack_gives_the_functions_its_moto_not_the_templates_empty_endpoint() -> None:
    from infra.local.stack import StackConfig, function_environment

    environment = function_environment(StackConfig(moto_host="172.17.0.1", moto_port=5000))
    assert environment["AWS_ENDPOINT_URL"] == "http://172.17.0.1:5000"


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_the_local_stacks_moto_never_listens_on_every_network(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.local.cli import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--moto-host", address])
    assert "--moto-host" in capsys.readouterr().err
