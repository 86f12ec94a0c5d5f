"""Create template.yaml's own resources in a mock AWS (moto), so nothing can drift from it.

Used by the tests (in-process moto) and by the local stack (moto server): the table with its
key, billing, encryption, TTL, stream and indexes; the dead-letter queue; the SES sender identity and the
configuration set. Nothing here is a second, hand-written copy of a resource definition.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, !Sub ...) as plain data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".")
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return template


def resource(logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = (template or load_template())["Resources"][logical_id]
    return properties


def resources_of_type(type_name: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The template's resources of a type, by logical id (an ``Fn::ForEach`` loop is not one of them)."""
    return {
        logical_id: definition
        for logical_id, definition in (template or load_template())["Resources"].items()
        if isinstance(definition, dict) and definition.get("Type") == type_name
    }


def resource_of_type(type_name: str, template: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The one resource of a type (the template has one table, one queue ...)."""
    found = list(resources_of_type(type_name, template).items())
    if len(found) != 1:
        raise LookupError(f"expected one {type_name} in template.yaml, found {len(found)}")
    return found[0]


@dataclass(frozen=True)
class Provisioned:
    table_name: str
    stream_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    sender_email: str
    configuration_set: str


def signing_secret_environment(current: str, previous: str = "none") -> dict[str, str]:
    """What CloudFormation's dynamic references put in the functions' configuration."""
    return {"SIGNING_SECRET": current, "SIGNING_SECRET_PREVIOUS": previous, "SIGNING_SECRET_ROTATION": "0"}


def create_signing_secret(session: Any, name: str, current: str) -> str:
    """The template's SigningSecret in Secrets Manager, as CloudFormation would generate it around
    ``current``; its ARN."""
    _, secret = resource_of_type("AWS::SecretsManager::Secret")
    generated = secret["Properties"]["GenerateSecretString"]
    value = json.loads(generated["SecretStringTemplate"]) | {generated["GenerateStringKey"]: current}
    created = session.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))
    return str(created["ARN"])


def provision(
    session: Any,
    *,
    table_name: str,
    queue_name: str,
    sender_email: str,
    configuration_set: str,
    office_emails: Sequence[str] = (),
) -> Provisioned:
    """Create the template's table, dead-letter queue and SES identity through ``session``'s clients.

    ``office_emails`` become verified SES identities too, as they are once each staff member has
    clicked the link SES mails while the account is in the sandbox (moto cannot say whether it is).
    """
    _, table = resource_of_type("AWS::DynamoDB::Table")
    props = table["Properties"]
    dynamodb = session.client("dynamodb")
    indexes = (
        {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
        if "GlobalSecondaryIndexes" in props
        else {}
    )
    created = dynamodb.create_table(
        TableName=table_name,
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        BillingMode=props["BillingMode"],
        StreamSpecification={"StreamEnabled": True, **props["StreamSpecification"]},
        SSESpecification={"Enabled": props["SSESpecification"]["SSEEnabled"]},
        **indexes,
    )
    ttl = props["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )
    if props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]:
        dynamodb.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )

    _, queue = resource_of_type("AWS::SQS::Queue")
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={"MessageRetentionPeriod": str(queue["Properties"]["MessageRetentionPeriod"])},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    _, config_set = resource_of_type("AWS::SES::ConfigurationSet")
    sesv2 = session.client("sesv2")
    # Only the options the template sets: an absent SuppressionOptions means "use the account's list".
    options = {
        name: config_set["Properties"][name]
        for name in ("DeliveryOptions", "SuppressionOptions")
        if name in config_set["Properties"]
    }
    sesv2.create_configuration_set(ConfigurationSetName=configuration_set, **options)
    resource_of_type("AWS::SES::EmailIdentity")  # the template creates the sender identity too
    for address in dict.fromkeys((sender_email, *office_emails)):
        sesv2.create_email_identity(EmailIdentity=address)

    return Provisioned(
        table_name=table_name,
        stream_arn=created["TableDescription"]["LatestStreamArn"],
        dead_letter_queue_url=queue_url,
        dead_letter_queue_arn=queue_arn,
        sender_email=sender_email,
        configuration_set=configuration_set,
    )
