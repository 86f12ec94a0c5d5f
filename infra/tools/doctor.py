"""Readiness check: can this deployment deliver every call-back request to the office?

    python -m infra.tools.doctor                      # the local stack of `make run` (moto on :5000)
    python -m infra.tools.doctor --stack NAME         # a deployed stack (AWS credentials, --region)
    python -m infra.tools.doctor --config-env staging # the stack samconfig.toml names for an env

Prints one line per check (ok, FAIL with what to do, or n/a with why it cannot be checked there)
and exits 1 when any check fails, 2 when the stack cannot be found or reached. Resources are found
through the stack's resources and the notifier's own configuration, so nothing is configured twice.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.tools import send_permissions

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMCONFIG = REPO_ROOT / "samconfig.toml"
# Logical ids in template.yaml; a stack without them is searched by resource type.
NOTIFY_FUNCTION = "NotifyFunction"
ALARM_TOPIC = "StaffAlertAlarmTopic"
# What template.yaml gives the table (read from it, so the advice names the same attribute).
TTL_ATTRIBUTE_FALLBACK = "expires_at"


class Status(Enum):
    OK = "ok"
    FAIL = "FAIL"
    NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    detail: str
    advice: str = ""


@dataclass(frozen=True)
class Target:
    """What one deployment sends with and to: found from a stack, or the local stack's settings."""

    description: str
    local: bool
    table_name: str
    sender_email: str
    office_emails: tuple[str, ...]
    configuration_set: str
    alarm_topic_arn: str | None = None
    # Every function of the stack (logical id, name): those whose environment names a SENDER_EMAIL
    # send email, and IAM decides, for each one's role, whether SES may take its sends.
    functions: tuple[tuple[str, str], ...] = ()


class TargetNotFound(Exception):
    """The stack, or a resource the checks need, is not there."""


def local_target(endpoint_url: str) -> Target:
    """The names `make run` provisions (infra/local/stack.py), at its moto endpoint."""
    from infra.local import stack

    return Target(
        description=f"the local stack (moto at {endpoint_url})",
        local=True,
        table_name=stack.TABLE_NAME,
        sender_email=stack.SENDER_EMAIL,
        office_emails=_split(stack.OFFICE_EMAILS),
        configuration_set=stack.CONFIGURATION_SET,
    )


def stack_target(session: Any, stack_name: str) -> Target:
    """Find the table, topic and the notifier's sender, office addresses and configuration set."""
    cloudformation = session.client("cloudformation")
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        resources = [summary for page in pages for summary in page["StackResourceSummaries"]]
    except ClientError as error:
        raise TargetNotFound(f"stack {stack_name!r}: {_error_text(error)}") from None

    def physical(type_name: str, logical_id: str | None = None) -> str | None:
        found = [r for r in resources if r["ResourceType"] == type_name]
        preferred = [r for r in found if r["LogicalResourceId"] == logical_id]
        chosen = preferred or (found if len(found) == 1 else [])
        return chosen[0].get("PhysicalResourceId") if chosen else None

    function_name = physical("AWS::Lambda::Function", NOTIFY_FUNCTION)
    if function_name is None:
        raise TargetNotFound(f"stack {stack_name!r} has no {NOTIFY_FUNCTION} function")
    try:
        configuration = session.client("lambda").get_function_configuration(FunctionName=function_name)
    except ClientError as error:
        raise TargetNotFound(f"function {function_name}: {_error_text(error)}") from None
    variables: dict[str, str] = configuration.get("Environment", {}).get("Variables", {})
    table_name = variables.get("TABLE_NAME") or physical("AWS::DynamoDB::Table")
    configuration_set = variables.get("SES_CONFIGURATION_SET") or physical("AWS::SES::ConfigurationSet")
    missing = [
        name
        for name, value in {
            "TABLE_NAME": table_name,
            "SENDER_EMAIL": variables.get("SENDER_EMAIL"),
            "OFFICE_EMAILS": variables.get("OFFICE_EMAILS"),
            "SES_CONFIGURATION_SET": configuration_set,
        }.items()
        if not value
    ]
    if missing or table_name is None or configuration_set is None:
        raise TargetNotFound(f"function {function_name} has no {', '.join(missing)} in its environment")
    region = session.region_name or "the default region"
    return Target(
        description=f"stack {stack_name} in {region}",
        local=False,
        table_name=table_name,
        sender_email=variables["SENDER_EMAIL"],
        office_emails=_split(variables["OFFICE_EMAILS"]),
        configuration_set=configuration_set,
        alarm_topic_arn=physical("AWS::SNS::Topic", ALARM_TOPIC),
        functions=tuple(
            (r["LogicalResourceId"], r["PhysicalResourceId"])
            for r in resources
            if r["ResourceType"] == "AWS::Lambda::Function" and r.get("PhysicalResourceId")
        ),
    )


def samconfig_stack(config_env: str, path: Path = SAMCONFIG) -> tuple[str, str | None]:
    """The stack name and region samconfig.toml gives an environment (`sam deploy --config-env`)."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    if config_env not in config:
        raise TargetNotFound(f"samconfig.toml has no [{config_env}] environment")
    env = config[config_env]
    merged: dict[str, Any] = {
        **env.get("global", {}).get("parameters", {}),
        **env.get("deploy", {}).get("parameters", {}),
    }
    if "stack_name" not in merged:
        raise TargetNotFound(f"samconfig.toml's [{config_env}] environment names no stack_name")
    return str(merged["stack_name"]), merged.get("region")


@dataclass(frozen=True)
class SendingFunction:
    """A function that emails the office, and with what: its own environment."""

    logical_id: str
    function_arn: str
    role_arn: str
    sender: str
    recipients: tuple[str, ...]
    configuration_set: str

    @property
    def arn_parts(self) -> tuple[str, str, str]:
        """Partition, region and account, from arn:<partition>:lambda:<region>:<account>:function:..."""
        _, partition, _, region, account, *_ = self.function_arn.split(":")
        return partition, region, account

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


@dataclass
class Facts:
    """Each AWS answer the checks share, asked for once."""

    target: Target
    session: Any
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    @cached_property
    def account(self) -> dict[str, Any]:
        account: dict[str, Any] = self.client("sesv2").get_account()
        return account

    def identity(self, name: str) -> dict[str, Any] | None:
        try:
            identity: dict[str, Any] = self.client("sesv2").get_email_identity(EmailIdentity=name)
        except ClientError as error:
            if _code(error) == "NotFoundException":
                return None
            raise
        return identity

    @cached_property
    def configuration_set(self) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.client("sesv2").get_configuration_set(
                ConfigurationSetName=self.target.configuration_set
            )
        except ClientError as error:
            if _code(error) == "NotFoundException":
                return None
            raise
        return found

    @cached_property
    def sending_functions(self) -> list[SendingFunction]:
        """The stack's functions that send email: their environment names a SENDER_EMAIL."""
        found = []
        for logical_id, name in self.target.functions:
            configuration = self.client("lambda").get_function_configuration(FunctionName=name)
            variables = configuration.get("Environment", {}).get("Variables", {})
            if variables.get("SENDER_EMAIL"):
                found.append(
                    SendingFunction(
                        logical_id=logical_id,
                        function_arn=configuration["FunctionArn"],
                        role_arn=configuration["Role"],
                        sender=variables["SENDER_EMAIL"],
                        recipients=_split(variables.get("OFFICE_EMAILS", "")),
                        configuration_set=variables.get("SES_CONFIGURATION_SET", ""),
                    )
                )
        return found

    @property
    def table_name(self) -> str:
        return self.target.table_name

    @cached_property
    def table(self) -> dict[str, Any]:
        try:
            table: dict[str, Any] = self.client("dynamodb").describe_table(TableName=self.target.table_name)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                raise TargetNotFound(f"table {self.target.table_name} does not exist") from None
            raise
        described: dict[str, Any] = table["Table"]
        return described


Check = Callable[[Facts], Result]
# In the order the checklist prints them, filled by @check.
CHECKS: list[Check] = []


def check(name: str) -> Callable[[Callable[[Facts, str], Result]], Check]:
    """Register a check; an AWS error becomes its failure, never a silent skip."""

    def register(function: Callable[[Facts, str], Result]) -> Check:
        def run(facts: Facts) -> Result:
            try:
                return function(facts, name)
            except TargetNotFound as error:
                return Result(name, Status.FAIL, str(error), "deploy the stack again (`make deploy`)")
            except ClientError as error:
                return Result(
                    name,
                    Status.FAIL,
                    f"could not read: {_error_text(error)}",
                    "run with credentials that may read SES, DynamoDB, SNS, Lambda, IAM and CloudFormation",
                )

        run.__name__ = function.__name__
        CHECKS.append(run)
        return run

    return register


def _split(addresses: str) -> tuple[str, ...]:
    return tuple(address.strip() for address in addresses.split(",") if address.strip())


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_text(error: ClientError) -> str:
    return f"{_code(error)}: {error.response.get('Error', {}).get('Message', '')}".strip()


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def _verified(identity: dict[str, Any] | None) -> bool:
    if identity is None:
        return False
    # VerificationStatus is the newer, explicit field; older answers carry only the boolean.
    if "VerificationStatus" in identity:
        return bool(identity["VerificationStatus"] == "SUCCESS")
    return bool(identity.get("VerifiedForSendingStatus"))


def _verified_as(facts: Facts, address: str) -> str | None:
    """How SES lets this address send or receive: as its own identity or through its domain's."""
    if _verified(facts.identity(address)):
        return "as an address"
    if _verified(facts.identity(_domain(address))):
        return f"through its domain {_domain(address)}"
    return None


NO_ACCOUNT_API = "moto (the local SES) has no account API (GetAccount)"


@check("SES sending enabled")
def check_sending_enabled(facts: Facts, name: str) -> Result:
    if facts.target.local:
        return Result(name, Status.NOT_APPLICABLE, NO_ACCOUNT_API)
    account = facts.account
    if account.get("SendingEnabled"):
        return Result(name, Status.OK, f"enforcement status {account.get('EnforcementStatus', 'HEALTHY')}")
    return Result(
        name,
        Status.FAIL,
        f"SES has paused sending for this account (enforcement status {account.get('EnforcementStatus')})",
        "read the SES console's Reputation metrics for the cause (bounces, complaints), fix it, then "
        "`aws sesv2 put-account-sending-attributes --sending-enabled`; if AWS paused it, answer its case",
    )


@check("Out of the SES sandbox, or every office address verified")
def check_sandbox(facts: Facts, name: str) -> Result:
    if not facts.target.local and facts.account.get("ProductionAccessEnabled"):
        return Result(name, Status.OK, "production access: SES delivers to any address")
    where = (
        f"{NO_ACCOUNT_API}, so the account counts as in the sandbox"
        if facts.target.local
        else "the account is in the SES sandbox"
    )
    unverified = [address for address in facts.target.office_emails if _verified_as(facts, address) is None]
    if not unverified:
        return Result(name, Status.OK, f"{where}; every office address is a verified identity")
    return Result(
        name,
        Status.FAIL,
        f"{where} and SES refuses to send to {', '.join(unverified)} (not a verified identity)",
        "request production access (SES console > Get set up > Request production access; docs/operations.md "
        "'Leave the SES sandbox'), or verify each address: `aws sesv2 create-email-identity "
        "--email-identity ADDRESS`, then click the link SES mails to it",
    )


@check("Sender identity verified")
def check_sender_identity(facts: Facts, name: str) -> Result:
    sender = facts.target.sender_email
    how = _verified_as(facts, sender)
    if how is not None:
        return Result(name, Status.OK, f"{sender} is verified {how}")
    return Result(
        name,
        Status.FAIL,
        f"{sender} is not a verified SES identity, nor is its domain: every alert is refused",
        f"verify the domain (docs/operations.md 'Verify the sender's domain'): "
        f"`aws sesv2 create-email-identity --email-identity {_domain(sender)}` and publish the three "
        "DKIM CNAME records it lists; or "
        f"deploy with CreateSenderIdentity=true and click the link SES mails to {sender}",
    )


@check("Functions may send from the sender to every office address")
def check_send_permission(facts: Facts, name: str) -> Result:
    if facts.target.local:
        return Result(
            name,
            Status.NOT_APPLICABLE,
            "the local stack's functions run with moto's credentials, not an IAM role: IAM decides nothing",
        )
    senders = facts.sending_functions
    if not senders:
        return Result(
            name,
            Status.FAIL,
            "no function of the stack sends email (none has a SENDER_EMAIL)",
            "deploy the stack again (`make deploy`)",
        )
    try:
        in_sandbox, sandbox_text = not facts.account.get("ProductionAccessEnabled"), ""
    except ClientError as error:
        in_sandbox, sandbox_text = (
            True,
            f" (the account's sandbox status is unreadable, {_code(error)}: checked as in it)",
        )
    refused: list[str] = []
    methods: set[str] = set()
    for function in senders:
        decisions, method = _send_decisions(facts, function, in_sandbox)
        methods.add(method)
        for decision, what in decisions:
            if decision.decision != send_permissions.ALLOWED:
                refused.append(
                    f"{function.logical_id} (role {function.role_name}) sending {what}: {decision.why} "
                    f"on {decision.resource}"
                )
    how = "; ".join(sorted(methods))
    where = (
        "in the SES sandbox, so SES checks each office address's identity too"
        if in_sandbox
        else ("out of the sandbox, so SES checks the sender's identity and the configuration set")
    )
    names = ", ".join(function.logical_id for function in senders)
    if not refused:
        return Result(
            name,
            Status.OK,
            f"IAM lets {names} send from {senders[0].sender} to {', '.join(senders[0].recipients)} "
            f"({where}{sandbox_text}; {how})",
        )
    return Result(
        name,
        Status.FAIL,
        f"IAM would refuse {'; '.join(refused)} ({where}{sandbox_text}; {how}): "
        "each such email fails with AccessDenied (a staff alert is retried, and never sent, until IAM "
        "allows it)",
        "deploy this template again (`make deploy`): its StaffEmailPolicy lets every function that "
        "emails send from SenderEmail to the OfficeEmails addresses through any of the account's "
        "identities; or leave the SES sandbox (docs/operations.md 'Leave the SES sandbox'), after which "
        "SES no longer checks the office addresses' identities",
    )


def _identity_of(facts: Facts, address: str) -> str:
    """The identity SES goes by for an address: its own, else its domain's, else (unverified) its own."""
    if facts.target.local or _verified(facts.identity(address)):
        return address
    return _domain(address) if _verified(facts.identity(_domain(address))) else address


def _send_decisions(
    facts: Facts, function: SendingFunction, in_sandbox: bool
) -> tuple[list[tuple[send_permissions.Decision, str]], str]:
    """IAM's decision on each resource SES authorises for one of the function's emails."""
    partition, region, account = function.arn_parts
    sender_identity = _identity_of(facts, function.sender)
    wanted = [
        (
            send_permissions.identity_arn(partition, region, account, sender_identity),
            f"from {function.sender}",
        ),
        (
            send_permissions.configuration_set_arn(partition, region, account, function.configuration_set),
            f"through the configuration set {function.configuration_set}",
        ),
    ]
    if in_sandbox:
        for address in function.recipients:
            arn = send_permissions.identity_arn(partition, region, account, _identity_of(facts, address))
            wanted.append((arn, f"to {address}"))
    arns = list(dict.fromkeys(arn for arn, _ in wanted))
    context = send_permissions.send_context(function.sender, function.recipients)
    iam = facts.client("iam")
    try:
        decisions = send_permissions.simulate(iam, function.role_arn, arns, context)
        method = "IAM's policy simulator"
    except send_permissions.SimulatorUnavailable:
        policies = send_permissions.role_policies(iam, function.role_name)
        decisions = send_permissions.evaluate(policies, arns, context)
        method = "this IAM has no policy simulator: the doctor read the roles' own policies"
    by_arn = {decision.resource: decision for decision in decisions}
    missing = send_permissions.Decision("", send_permissions.UNKNOWN, "IAM gave no answer")
    return [(by_arn.get(arn, missing), what) for arn, what in wanted], method


@check("Sender's domain signs with DKIM")
def check_dkim(facts: Facts, name: str) -> Result:
    domain = _domain(facts.target.sender_email)
    if facts.target.local:
        return Result(name, Status.NOT_APPLICABLE, "moto sees no DNS, so it cannot check DKIM records")
    identity = facts.identity(domain)
    dkim = (identity or {}).get("DkimAttributes", {})
    if identity is not None and dkim.get("Status") == "SUCCESS" and dkim.get("SigningEnabled"):
        return Result(name, Status.OK, f"{domain}: DKIM {dkim.get('SigningAttributesOrigin', 'AWS_SES')}")
    found = "is not an SES identity" if identity is None else f"has DKIM status {dkim.get('Status')}"
    return Result(
        name,
        Status.FAIL,
        f"{domain} {found}: unsigned alerts land in spam or are rejected under DMARC",
        f"`aws sesv2 create-email-identity --email-identity {domain}` (Easy DKIM), publish the three "
        f"CNAME records of `aws sesv2 get-email-identity --email-identity {domain} --query "
        "DkimAttributes.Tokens` (docs/operations.md 'Verify the sender's domain'), wait for status SUCCESS",
    )


@check("Configuration set present and requiring TLS")
def check_configuration_set(facts: Facts, name: str) -> Result:
    config_name = facts.target.configuration_set
    config = facts.configuration_set
    if config is None:
        return Result(
            name,
            Status.FAIL,
            f"configuration set {config_name} does not exist: the notifier's sends are refused",
            "deploy the stack again (`make deploy`): template.yaml creates it",
        )
    policy = config.get("DeliveryOptions", {}).get("TlsPolicy", "OPTIONAL")
    if policy == "REQUIRE":
        return Result(name, Status.OK, f"{config_name}: TLS policy REQUIRE")
    return Result(
        name,
        Status.FAIL,
        f"{config_name}: TLS policy {policy}, so an alert may cross the internet unencrypted",
        f"`aws sesv2 put-configuration-set-delivery-options --configuration-set-name {config_name} "
        "--tls-policy REQUIRE` (template.yaml sets it: someone changed it by hand)",
    )


def _override_text(facts: Facts) -> str:
    config = facts.configuration_set
    if config is None:
        return "no configuration set to override the account's list"
    options = config.get("SuppressionOptions")
    if not options or "SuppressedReasons" not in options:
        return "the configuration set uses the account's list (a bounce silences that address)"
    reasons = options["SuppressedReasons"]
    return "the configuration set overrides the account's list and suppresses " + (
        ", ".join(reasons) if reasons else "nothing"
    )


@check("No office address on the account's suppression list")
def check_suppression(facts: Facts, name: str) -> Result:
    override = _override_text(facts)
    if facts.target.local:
        return Result(name, Status.NOT_APPLICABLE, f"moto has no suppression list; {override}")
    sesv2 = facts.client("sesv2")
    listed: list[str] = []
    for address in facts.target.office_emails:
        try:
            found = sesv2.get_suppressed_destination(EmailAddress=address)["SuppressedDestination"]
        except ClientError as error:
            if _code(error) == "NotFoundException":
                continue
            raise
        since = found.get("LastUpdateTime")
        listed.append(
            f"{address} ({found.get('Reason', 'listed')}{f' since {since:%Y-%m-%d}' if since else ''})"
        )
    if not listed:
        return Result(name, Status.OK, f"none listed; {override}")
    return Result(
        name,
        Status.FAIL,
        f"{', '.join(listed)}; {override}",
        "make sure that mailbox takes mail again (it bounced or complained), then "
        "`aws sesv2 delete-suppressed-destination --email-address ADDRESS`",
    )


@check("Table stream on (NEW_IMAGE)")
def check_stream(facts: Facts, name: str) -> Result:
    table = facts.table_name
    spec = facts.table.get("StreamSpecification") or {}
    view = spec.get("StreamViewType")
    if spec.get("StreamEnabled") and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        return Result(name, Status.OK, f"{table}: stream {view}")
    return Result(
        name,
        Status.FAIL,
        f"{table}: stream {'off' if not spec.get('StreamEnabled') else view}; the notifier reads the "
        "stream, so requests are stored and never emailed",
        f"`aws dynamodb update-table --table-name {table} --stream-specification "
        "StreamEnabled=true,StreamViewType=NEW_IMAGE`, then `make deploy` so the notifier reads the new "
        "stream",
    )


@check("Table TTL on")
def check_ttl(facts: Facts, name: str) -> Result:
    table = facts.table_name
    attribute = _ttl_attribute()
    described = facts.client("dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    status = described.get("TimeToLiveStatus")
    if status in ("ENABLED", "ENABLING") and described.get("AttributeName") == attribute:
        return Result(name, Status.OK, f"{table}: TTL {status.lower()} on {attribute}")
    return Result(
        name,
        Status.FAIL,
        f"{table}: TTL {str(status).lower()} on {described.get('AttributeName', 'no attribute')}; "
        "requests are kept past the retention period",
        f"`aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification "
        f"Enabled=true,AttributeName={attribute}`",
    )


@check("Table point-in-time recovery on")
def check_pitr(facts: Facts, name: str) -> Result:
    table = facts.table_name
    backups = facts.client("dynamodb").describe_continuous_backups(TableName=table)
    status = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    if status.get("PointInTimeRecoveryStatus") == "ENABLED":
        return Result(name, Status.OK, f"{table}: PITR enabled")
    return Result(
        name,
        Status.FAIL,
        f"{table}: PITR {str(status.get('PointInTimeRecoveryStatus', 'unknown')).lower()}; a bad write "
        "or deletion cannot be undone",
        f"`aws dynamodb update-continuous-backups --table-name {table} "
        "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`",
    )


@check("Alarm topic subscription confirmed")
def check_alarm_subscription(facts: Facts, name: str) -> Result:
    topic = facts.target.alarm_topic_arn
    if facts.target.local:
        return Result(
            name, Status.NOT_APPLICABLE, "the local stack runs no CloudWatch alarms and has no topic"
        )
    subscribe = "redeploy with AlarmEmail=you@example.com (`make deploy`) and confirm the email AWS sends"
    if topic is None:
        return Result(name, Status.FAIL, "the stack has no alarm topic", subscribe)
    sns = facts.client("sns")
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
    subscriptions = [s for page in pages for s in page["Subscriptions"]]
    confirmed: list[str] = []
    pending: list[str] = []
    for subscription in subscriptions:
        arn = subscription["SubscriptionArn"]
        is_pending = arn == "PendingConfirmation" or (
            sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"].get("PendingConfirmation")
            == "true"
        )
        (pending if is_pending else confirmed).append(
            f"{subscription['Protocol']}:{subscription['Endpoint']}"
        )
    if confirmed:
        return Result(name, Status.OK, f"confirmed: {', '.join(confirmed)}")
    if pending:
        return Result(
            name,
            Status.FAIL,
            f"{', '.join(pending)} never confirmed (PendingConfirmation): no alarm reaches anyone",
            "open the email 'AWS Notification - Subscription Confirmation' (look in spam) and click "
            f"Confirm subscription; to get a new one: `aws sns subscribe --topic-arn {topic} "
            "--protocol email --notification-endpoint ADDRESS`",
        )
    return Result(name, Status.FAIL, "nobody is subscribed: no alarm reaches anyone", subscribe)


def _ttl_attribute() -> str:
    try:
        from infra.provision import resource_of_type

        _, table = resource_of_type("AWS::DynamoDB::Table")
        return str(table["Properties"]["TimeToLiveSpecification"]["AttributeName"])
    except (LookupError, KeyError, OSError):
        return TTL_ATTRIBUTE_FALLBACK


def run_checks(facts: Facts, checks: Iterable[Check] = CHECKS) -> list[Result]:
    return [check(facts) for check in checks]


def render(target: Target, results: Sequence[Result]) -> str:
    lines = [f"Readiness of {target.description}:"]
    for result in results:
        mark = {Status.OK: "[ ok ]", Status.FAIL: "[FAIL]", Status.NOT_APPLICABLE: "[n/a ]"}[result.status]
        detail = result.detail
        if result.status is Status.NOT_APPLICABLE:
            detail = f"not applicable here: {detail}"
        lines.append(f"  {mark} {result.check}: {detail}")
        if result.advice:
            lines.append(f"         to do: {result.advice}")
    counts = {status: sum(r.status is status for r in results) for status in Status}
    lines.append(
        f"{counts[Status.OK]} ok, {counts[Status.FAIL]} failed, "
        f"{counts[Status.NOT_APPLICABLE]} not applicable here"
    )
    return "\n".join(lines)


def exit_code(results: Sequence[Result]) -> int:
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make doctor", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    where.add_argument("--config-env", help="the samconfig.toml environment whose stack to check")
    parser.add_argument("--region", help="the stack's region (default: samconfig's, else AWS's default)")
    parser.add_argument(
        "--endpoint-url",
        default=f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}",
        help="the local stack's moto (default: http://127.0.0.1:$MOTO_PORT, port 5000)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    args = parse_args(argv)
    try:
        if args.stack or args.config_env:
            stack_name, region = (args.stack, None) if args.stack else samconfig_stack(args.config_env)
            session = session or boto3.session.Session(region_name=args.region or region)
            target = stack_target(session, stack_name)
            facts = Facts(target, session)
        else:
            from infra.local.moto_server import LOCAL_CREDENTIALS

            session = session or boto3.session.Session(
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
            )
            target = local_target(args.endpoint_url)
            facts = Facts(target, session, endpoint_url=args.endpoint_url)
        results = run_checks(facts)
    except TargetNotFound as error:
        print(f"doctor: {error}", file=sys.stderr)
        return 2
    except BotoCoreError as error:
        hint = " (is `make run` running?)" if not (args.stack or args.config_env) else ""
        print(f"doctor: cannot ask AWS: {error}{hint}", file=sys.stderr)
        return 2
    print(render(target, results))
    return exit_code(results)


if __name__ == "__main__":
    raise SystemExit(main())
