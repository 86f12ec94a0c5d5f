"""What a deploy does that cfn-lint and checkov do not check (issue 22), on the translated template.

- Two stacks of the template (the live site's and staging's) in one account and region share no
  name that must be unique there: a second `sam deploy` creates, it does not collide.
- Every function that emails the office may send from the sender to each office address, on the
  resources SES authorises in the SES sandbox (an office address verified on its own included),
  and to nobody else: judged with the doctor's own reading of IAM (infra/tools/send_permissions.py).
- No function's environment fixes AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_*), so the platform's or an
  emulator's endpoint stays; `sam local` still gives the functions the env-vars file's endpoint.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.tools import send_permissions
from tests.infra.cfn_resolve import ACCOUNT, REGION, Stack
from tests.infra.translated import ROOT, SAM_PYTHON, translate

SENDER = "alerts@accentplasticsurgery.example"
PRODUCTION = (
    "callback-requests",
    {
        "SenderEmail": SENDER,
        "OfficeEmails": "frontdesk@accentplasticsurgery.example,accent.nurse@mail.example",
        "AllowedOrigins": "https://accentplasticsurgery.example,https://www.accentplasticsurgery.example",
        "ThankYouUrl": "https://www.accentplasticsurgery.example/thank-you/",
        "AlarmEmail": "developer@accentplasticsurgery.example",
        # The one stack that creates the shared sender identity (docs/operations-deploy.md).
        "CreateSenderIdentity": "true",
        "EnableWebAcl": "true",
        "TurnstileSecretParameter": "/callback-requests/turnstile-secret",
    },
)
STAGING = (
    "callback-requests-staging",
    {
        "SenderEmail": SENDER,
        "OfficeEmails": "developer@accentplasticsurgery.example",
        "AllowedOrigins": "https://staging.accentplasticsurgery.example",
        "ThankYouUrl": "https://staging.accentplasticsurgery.example/thank-you/",
        "AlarmEmail": "developer@accentplasticsurgery.example",
        "EnableWebAcl": "true",
        "SigningSecretParameter": "/callback-requests-staging/signing-secret",
        "TurnstileSecretParameter": "/callback-requests-staging/turnstile-secret",
    },
)

# The names CloudFormation resources set that must be unique in an account and region, by type.
# A RestApi's name need not be, but the API's 5XX alarm and the dashboard find the API by it.
ACCOUNT_WIDE_NAMES = {
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::SES::EmailIdentity": "EmailIdentity",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::WAFv2::WebACL": "Name",
}
# A schedule's name is unique within its group (the account's `default` when none is named).
SCHEDULE = "AWS::Scheduler::Schedule"
# Types whose names, if any, live under a resource of the stack (a stage under its API, an event
# destination under its configuration set) or that have none at all.
NOT_NAMED_ACCOUNT_WIDE = {
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::KMS::Key",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Permission",
    "AWS::SES::ConfigurationSetEventDestination",
    "AWS::SNS::Subscription",
    "AWS::WAFv2::WebACLAssociation",
}
ENDPOINT_VARIABLE = re.compile(r"^AWS_ENDPOINT_URL(_.+)?$")


def stack(name: str, parameters: dict[str, str], template: Path | None = None) -> Stack:
    return Stack(name, translate(stack_name=name, template=template, **parameters), parameters)


@pytest.fixture(scope="module")
def production() -> Stack:
    return stack(*PRODUCTION)


@pytest.fixture(scope="module")
def staging() -> Stack:
    return stack(*STAGING)


def account_wide_names(stack: Stack) -> dict[str, str]:
    """Each name the stack's resources set that must be unique in the account: name -> resource."""
    names: dict[str, str] = {}
    for logical_id, definition in stack.resources().items():
        kind, props = definition["Type"], definition.get("Properties", {})
        if kind == SCHEDULE:
            group = stack.value(props["GroupName"]) if "GroupName" in props else "default"
            name = f"schedule {stack.value(props['Name'])} in group {group}" if "Name" in props else None
        else:
            key = ACCOUNT_WIDE_NAMES.get(kind)
            name = f"{kind} {stack.value(props[key])}" if key and key in props else None
        if name is not None:
            names[name] = logical_id
    return names


# --- Two stacks, one account and region --------------------------------------------------------


def test_given_every_resource_type_then_the_test_knows_where_its_name_lives(production: Stack) -> None:
    """A new resource type must be placed in one list or the other before the next test can pass."""
    known = {*ACCOUNT_WIDE_NAMES, SCHEDULE, *NOT_NAMED_ACCOUNT_WIDE}
    kinds = {definition["Type"] for definition in production.template["Resources"].values()}
    assert kinds - known == set()


def test_given_production_and_staging_then_no_account_wide_name_is_the_same(
    production: Stack, staging: Stack
) -> None:
    live, stage = account_wide_names(production), account_wide_names(staging)
    shared = sorted(set(live) & set(stage))

    # The names each stack sets (generated names carry the stack's own name already).
    assert {"schedule DigestFunctionOverdueDigest in group callback-requests-ScheduleGroup"} <= set(live)
    assert "AWS::KMS::Alias alias/callback-requests-staging-monitoring" in stage
    assert "AWS::CloudWatch::Dashboard callback-requests-staging-us-east-1" in stage
    assert f"AWS::SES::EmailIdentity {SENDER}" in live  # created by the live stack only
    assert not any(name.startswith("AWS::SES::EmailIdentity") for name in stage)
    assert shared == []


def test_given_the_default_schedule_group_then_the_two_stacks_collide(tmp_path: Path) -> None:
    """What the test above guards against: the schedules in `default`, as SAM names them (issue 22)."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    without_group = tmp_path / "template.yaml"
    without_group.write_text(
        text.replace("            GroupName: !Ref ScheduleGroup\n", ""), encoding="utf-8"
    )

    shared = set(account_wide_names(stack(*PRODUCTION, template=without_group))) & set(
        account_wide_names(stack(*STAGING, template=without_group))
    )

    assert shared == {
        "schedule DigestFunctionOverdueDigest in group default",
        "schedule WeeklySummaryFunctionWeeklySummary in group default",
        "schedule StaffAlertSweepFunctionEveryFiveMinutes in group default",
    }


def test_given_both_stacks_create_the_sender_identity_then_they_collide() -> None:
    """Why only one stack may set CreateSenderIdentity=true: the identity is the account's."""
    both = (STAGING[0], {**STAGING[1], "CreateSenderIdentity": "true"})

    shared = set(account_wide_names(stack(*PRODUCTION))) & set(account_wide_names(stack(*both)))

    assert shared == {f"AWS::SES::EmailIdentity {SENDER}"}


# --- The SES sandbox -----------------------------------------------------------------------------


def sending_functions(stack: Stack) -> dict[str, dict[str, Any]]:
    """The functions whose environment names a SENDER_EMAIL (they email the office)."""
    return {
        logical_id: definition["Properties"]
        for logical_id, definition in stack.resources().items()
        if definition["Type"] == "AWS::Lambda::Function"
        and "SENDER_EMAIL" in definition["Properties"].get("Environment", {}).get("Variables", {})
    }


def role_policies(stack: Stack, function: dict[str, Any]) -> list[send_permissions.Policy]:
    """The function role's inline policies and the stack's own managed policies attached to it."""
    role_id = function["Role"]["Fn::GetAtt"][0]
    role = stack.template["Resources"][role_id]["Properties"]
    policies = [
        send_permissions.Policy(policy["PolicyName"], stack.value(policy["PolicyDocument"]))
        for policy in role.get("Policies", [])
    ]
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:  # the stack's own; AWS's managed ones grant no SES
            managed = stack.template["Resources"][arn["Ref"]]["Properties"]
            policies.append(send_permissions.Policy(arn["Ref"], stack.value(managed["PolicyDocument"])))
    return policies


def identity(name: str) -> str:
    return send_permissions.identity_arn("aws", REGION, ACCOUNT, name)


def test_given_the_sandbox_then_every_sender_may_email_each_office_address_whatever_its_identity(
    production: Stack,
) -> None:
    offices = production.parameter("OfficeEmails").split(",")
    context = send_permissions.send_context(SENDER, offices)
    configuration_set = send_permissions.configuration_set_arn(
        "aws", REGION, ACCOUNT, production.physical("StaffAlertConfigurationSet")
    )
    # The sender as an address or through its domain, the set, and each office address as an
    # identity of its own (one verified alone) or through its domain.
    resources = [identity(SENDER), identity(SENDER.split("@")[1]), configuration_set]
    resources += [identity(address) for address in offices] + [identity(a.split("@")[1]) for a in offices]
    functions = sending_functions(production)

    assert set(functions) == {
        "NotifyFunction",
        "StaffAlertSweepFunction",
        "DigestFunction",
        "WeeklySummaryFunction",
    }
    for name, function in functions.items():
        decisions = send_permissions.evaluate(role_policies(production, function), resources, context)
        assert send_permissions.refusals(decisions) == [], name


@pytest.mark.parametrize(
    ("what", "sender", "recipients", "resource"),
    [
        ("another From address", "someone@accentplasticsurgery.example", None, None),
        ("a recipient who is not the office", None, ["visitor@mail.example"], None),
        ("the office and a stranger at once", None, ["accent.nurse@mail.example", "x@mail.example"], None),
        (
            "an identity of another account",
            None,
            None,
            "arn:aws:ses:us-east-1:999999999999:identity/mail.example",
        ),
        ("another configuration set", None, None, f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/other"),
    ],
)
def test_given_anything_but_the_sender_to_the_office_then_no_function_may_send_it(
    production: Stack, what: str, sender: str | None, recipients: list[str] | None, resource: str | None
) -> None:
    offices = production.parameter("OfficeEmails").split(",")
    context = send_permissions.send_context(sender or SENDER, recipients or offices)
    resources = [resource or identity("accent.nurse@mail.example")]

    for name, function in sending_functions(production).items():
        (decision,) = send_permissions.evaluate(role_policies(production, function), resources, context)
        assert decision.decision == send_permissions.IMPLICIT_DENY, (name, what)


def test_given_no_function_that_does_not_email_then_none_may_send(production: Stack) -> None:
    context = send_permissions.send_context(SENDER, production.parameter("OfficeEmails").split(","))
    for logical_id, definition in production.resources().items():
        if definition["Type"] != "AWS::Lambda::Function" or logical_id in sending_functions(production):
            continue
        (decision,) = send_permissions.evaluate(
            role_policies(production, definition["Properties"]), [identity(SENDER)], context
        )
        assert decision.decision == send_permissions.IMPLICIT_DENY, logical_id


# --- An emulator can run it, and so can `sam local` -----------------------------------------------


def test_given_any_function_then_its_environment_fixes_no_endpoint(production: Stack) -> None:
    """Absent, or AWS::NoValue (CloudFormation leaves the key out): never a value, an empty one neither."""
    functions = {
        logical_id: definition["Properties"].get("Environment", {}).get("Variables", {})
        for logical_id, definition in production.template["Resources"].items()
        if definition["Type"] == "AWS::Lambda::Function"
    }

    assert len(functions) == 6
    for logical_id, variables in functions.items():
        for name, value in variables.items():
            if ENDPOINT_VARIABLE.match(name):
                assert value == {"Ref": "AWS::NoValue"}, (logical_id, name, value)
        assert not any(ENDPOINT_VARIABLE.match(name) for name in production.value(variables)), logical_id


def sam_local_environments(*args: str) -> dict[str, dict[str, str]]:
    if not SAM_PYTHON.exists():
        pytest.skip("the SAM CLI is not installed here (make lint installs it into .venv-sam)")
    result = subprocess.run(
        [str(SAM_PYTHON), str(Path(__file__).with_name("sam_local_env.py")), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
    assert result.returncode == 0, "SAM CLI could not make the functions' environments"
    environments: dict[str, dict[str, str]] = json.loads(result.stdout)
    return environments


def test_given_sam_local_with_the_env_vars_file_then_each_function_reaches_the_local_aws() -> None:
    env_vars_file = ROOT / "infra" / "sam" / "env-vars.json"
    env_vars = json.loads(env_vars_file.read_text(encoding="utf-8"))

    environments = sam_local_environments("--env-vars", str(env_vars_file))

    assert set(environments) == set(env_vars)
    for function, variables in env_vars.items():
        assert environments[function]["AWS_ENDPOINT_URL"] == variables["AWS_ENDPOINT_URL"], function


def test_given_a_template_that_does_not_name_the_endpoint_then_sam_local_drops_the_env_vars_one(
    tmp_path: Path,
) -> None:
    """Why the template names AWS_ENDPOINT_URL at all: SAM CLI passes only the variables it names."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    unnamed = tmp_path / "template.yaml"
    unnamed.write_text(text.replace("        AWS_ENDPOINT_URL: !Ref AWS::NoValue\n", ""), encoding="utf-8")

    environments = sam_local_environments(
        "--template", str(unnamed), "--env-vars", str(ROOT / "infra" / "sam" / "env-vars.json")
    )

    assert not any("AWS_ENDPOINT_URL" in variables for variables in environments.values())
