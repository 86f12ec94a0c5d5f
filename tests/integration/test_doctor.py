"""`make doctor` against moto: the local stack as `make run` provisions it, a deployed stack, and
each failure it reports, with its exit code and what it tells the developer to do.

moto has no SES account API (GetAccount), no suppression list and no IAM policy simulator
(SimulatePrincipalPolicy), so for a deployed stack those answers are given in AWS's documented shape
by a botocore hook on the session where a test needs them (without the simulator the doctor reads
the roles' policies itself); every other answer comes from moto's own state, changed through the
AWS APIs where moto has them. The functions' roles carry template.yaml's own StaffEmailPolicy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from infra.local import stack as local
from infra.provision import provision, resource, resource_of_type
from infra.tools import doctor

STACK = "callback-requests-test"
REGION = "us-east-1"
SENDER = "alerts@accentplasticsurgery.example"
DOMAIN = "accentplasticsurgery.example"
# The second office address is on another domain: a verified sender domain covers only the first.
OFFICES = ("frontdesk@accentplasticsurgery.example", "accent.nurse@mail.example")
TABLE = "callback-requests-test"
CONFIG_SET = "staff-alerts"
ALARM_EMAIL = "developer@accentplasticsurgery.example"

SANDBOX = "Out of the SES sandbox, or every office address verified"
SENDING = "SES sending enabled"
SENDER_CHECK = "Sender identity verified"
SEND = "Functions may send from the sender to every office address"
DKIM = "Sender's domain signs with DKIM"
CONFIG = "Configuration set present and requiring TLS"
SUPPRESSION = "No office address on the account's suppression list"
STREAM = "Table stream on (NEW_IMAGE)"
TTL = "Table TTL on"
PITR = "Table point-in-time recovery on"
SUBSCRIPTION = "Alarm topic subscription confirmed"
ALL_CHECKS = (
    SENDING,
    SANDBOX,
    SENDER_CHECK,
    SEND,
    DKIM,
    CONFIG,
    SUPPRESSION,
    STREAM,
    TTL,
    PITR,
    SUBSCRIPTION,
)


@dataclass
class SesAccount:
    """What GetAccount and GetSuppressedDestination answer (moto has neither)."""

    account: dict[str, Any] = field(
        default_factory=lambda: {
            "SendingEnabled": True,
            "ProductionAccessEnabled": True,
            "EnforcementStatus": "HEALTHY",
            "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
        }
    )
    suppressed: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def attach(self, session: boto3.session.Session) -> None:
        session.events.register("before-call.sesv2.GetAccount", self._get_account)
        session.events.register("before-call.sesv2.GetSuppressedDestination", self._get_suppressed)

    def _answer(self, status: int, body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://email.us-east-1.amazonaws.com", status, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    def _error(self, status: int, code: str) -> tuple[AWSResponse, dict[str, Any]]:
        return self._answer(status, {"Error": {"Code": code, "Message": code}})

    def _get_account(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        if "GetAccount" in self.errors:
            return self._error(403, self.errors["GetAccount"])
        return self._answer(200, dict(self.account))

    def _get_suppressed(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # The request as botocore serialised it: .../suppression/addresses/<address, URL-quoted>.
        found = self.suppressed.get(unquote(params["url_path"].rsplit("/", 1)[-1]))
        if found is None:
            return self._error(404, "NotFoundException")
        return self._answer(200, {"SuppressedDestination": found})


@dataclass
class Deployed:
    session: boto3.session.Session
    ses_account: SesAccount
    topic_arn: str
    subscription_arn: str

    def doctor(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
        code = doctor.main(["--stack", STACK, *args], session=self.session)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def physical(self, logical_id: str) -> str:
        resources = self.client("cloudformation").list_stack_resources(StackName=STACK)
        return str(
            next(
                r["PhysicalResourceId"]
                for r in resources["StackResourceSummaries"]
                if r["LogicalResourceId"] == logical_id
            )
        )

    def give_role_only(self, function: str, statement: dict[str, Any]) -> None:
        """Replace the SES permission of a function's role with one statement of its own."""
        iam = self.client("iam")
        role = self.physical(f"{function}Role")
        iam.detach_role_policy(RoleName=role, PolicyArn=self.physical("StaffEmailPolicy"))
        iam.put_role_policy(
            RoleName=role,
            PolicyName="send-staff-email",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )


# What every ses:SendEmail statement of template.yaml allowed before issue 22: the sender's own
# identity, its domain and the configuration set. In the sandbox it refuses an office address that
# is verified on its own.
SENDER_ONLY_STATEMENT = {
    "Effect": "Allow",
    "Action": "ses:SendEmail",
    "Resource": [
        f"arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:identity/{SENDER}",
        f"arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:identity/{DOMAIN}",
        f"arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:configuration-set/{CONFIG_SET}",
    ],
    "Condition": {"StringEquals": {"ses:FromAddress": SENDER}},
}
SENDING_FUNCTIONS = ("NotifyFunction", "DigestFunction")


def notifier_stack_template() -> str:
    """The resources the doctor looks for, with the names template.yaml gives them.

    Two functions that email the office, each with a role of its own carrying template.yaml's
    StaffEmailPolicy (its document as written, resolved by moto's CloudFormation), and one that
    does not email (no SENDER_EMAIL: the doctor leaves it alone).
    """
    role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    sending = {
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": SENDER,
        "OFFICE_EMAILS": ",".join(OFFICES),
        "SES_CONFIGURATION_SET": CONFIG_SET,
    }
    resources: dict[str, Any] = {
        "StaffEmailPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": resource("StaffEmailPolicy")["Properties"]["PolicyDocument"]},
        },
        "StaffAlertAlarmTopic": {"Type": "AWS::SNS::Topic"},
    }
    for function, handler, variables in (
        ("NotifyFunction", "callbacks.handlers.notify.lambda_handler", sending),
        ("DigestFunction", "callbacks.handlers.digest.lambda_handler", sending),
        ("IntakeFunction", "callbacks.handlers.intake.lambda_handler", {"TABLE_NAME": TABLE}),
    ):
        resources[f"{function}Role"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": role_policy},
        }
        resources[function] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": handler,
                "Role": {"Fn::GetAtt": [f"{function}Role", "Arn"]},
                "Code": {"ZipFile": "def lambda_handler(event, context): pass"},
                "Environment": {"Variables": variables},
            },
        }
    return json.dumps(
        {
            # What StaffEmailPolicy's document refers to, given as parameters to moto's CloudFormation.
            "Parameters": {
                name: {"Type": "String"}
                for name in ("SenderEmail", "OfficeEmails", "StaffAlertConfigurationSet")
            },
            "Resources": resources,
        }
    )


@pytest.fixture
def deployed(environment: dict[str, str]) -> Iterator[Deployed]:
    """A stack that can deliver: template.yaml's resources, verified identities, a confirmed alarm."""
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        ses_account = SesAccount()
        ses_account.attach(session)
        provision(
            session,
            table_name=TABLE,
            queue_name="staff-alert-dlq",
            sender_email=SENDER,
            configuration_set=CONFIG_SET,
            office_emails=OFFICES,
        )
        # Easy DKIM on the sender's domain, once its CNAME records are published.
        session.client("sesv2").create_email_identity(
            EmailIdentity=DOMAIN, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}
        )
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(
            StackName=STACK,
            TemplateBody=notifier_stack_template(),
            Parameters=[
                {"ParameterKey": "SenderEmail", "ParameterValue": SENDER},
                {"ParameterKey": "OfficeEmails", "ParameterValue": ",".join(OFFICES)},
                {"ParameterKey": "StaffAlertConfigurationSet", "ParameterValue": CONFIG_SET},
            ],
        )
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        }
        topic_arn = physical["StaffAlertAlarmTopic"]
        # moto's CloudFormation leaves a role's ManagedPolicyArns unattached: attach as AWS would.
        for function in SENDING_FUNCTIONS:
            session.client("iam").attach_role_policy(
                RoleName=physical[f"{function}Role"], PolicyArn=physical["StaffEmailPolicy"]
            )
        # moto confirms an email subscription at once, as AWS does once the link is clicked.
        subscription = session.client("sns").subscribe(
            TopicArn=topic_arn, Protocol="email", Endpoint=ALARM_EMAIL
        )
        yield Deployed(session, ses_account, topic_arn, subscription["SubscriptionArn"])


def line_of(output: str, check: str) -> tuple[str, str]:
    """The checklist line of one check, and its 'to do' line ('' when it has none)."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.strip().split("] ", 1)[-1].startswith(f"{check}:"):
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            return line.strip(), following if following.startswith("to do:") else ""
    raise AssertionError(f"no line for {check!r} in:\n{output}")


def failed_checks(output: str) -> list[str]:
    return [check for check in ALL_CHECKS if line_of(output, check)[0].startswith("[FAIL]")]


def test_local_stack_as_make_run_provisions_it_passes_or_says_why_not() -> None:
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        # The same call, with the same names, as infra/local/stack.py makes.
        provision(
            session,
            table_name=local.TABLE_NAME,
            queue_name=local.QUEUE_NAME,
            sender_email=local.SENDER_EMAIL,
            configuration_set=local.CONFIGURATION_SET,
            office_emails=local.OFFICE_EMAILS.split(","),
        )
        target = doctor.local_target("http://127.0.0.1:5000")
        results = doctor.run_checks(doctor.Facts(target, session))
        output = doctor.render(target, results)

    assert doctor.exit_code(results) == 0
    assert [line_of(output, check)[0][:6] for check in ALL_CHECKS] == [
        "[n/a ]",  # no SES account API in moto
        "[ ok ]",
        "[ ok ]",
        "[n/a ]",  # the local functions have no IAM role
        "[n/a ]",  # no DNS, no DKIM
        "[ ok ]",
        "[n/a ]",  # no suppression list in moto
        "[ ok ]",
        "[ ok ]",
        "[ ok ]",
        "[n/a ]",  # no alarms locally
    ]
    for check in (SENDING, SEND, DKIM, SUPPRESSION, SUBSCRIPTION):
        assert "not applicable here: " in line_of(output, check)[0]
    assert "counts as in the sandbox; every office address is a verified identity" in output
    assert output.splitlines()[-1] == "6 ok, 0 failed, 5 not applicable here"


def test_a_stack_that_can_deliver_passes_every_check(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = deployed.doctor(capsys)

    assert code == 0, output
    assert output.splitlines()[0] == f"Readiness of stack {STACK} in {REGION}:"
    assert [line_of(output, check)[0][:6] for check in ALL_CHECKS] == ["[ ok ]"] * len(ALL_CHECKS)
    assert f"{SENDER} is verified as an address" in output
    assert f"confirmed: email:{ALARM_EMAIL}" in output
    assert "to do:" not in output


def test_sandbox_with_an_unverified_office_address_fails(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.ses_account.account["ProductionAccessEnabled"] = False
    deployed.client("ses").delete_identity(Identity=OFFICES[1])

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SANDBOX]
    line, advice = line_of(output, SANDBOX)
    assert f"the account is in the SES sandbox and SES refuses to send to {OFFICES[1]}" in line
    assert OFFICES[0] not in line
    assert "request production access" in advice
    assert "aws sesv2 create-email-identity --email-identity ADDRESS" in advice


def test_sandbox_with_every_office_address_verified_passes(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.ses_account.account["ProductionAccessEnabled"] = False

    code, output = deployed.doctor(capsys)

    assert code == 0
    assert "the account is in the SES sandbox; every office address is a verified identity" in output


def test_sandbox_with_the_templates_permission_lets_every_function_send_to_an_address_verified_alone(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """In the sandbox, with OFFICES[1] verified on its own: template.yaml's StaffEmailPolicy allows it."""
    deployed.ses_account.account["ProductionAccessEnabled"] = False

    code, output = deployed.doctor(capsys)

    assert code == 0, output
    line, advice = line_of(output, SEND)
    assert line.startswith("[ ok ]")
    assert f"IAM lets NotifyFunction, DigestFunction send from {SENDER} to {', '.join(OFFICES)}" in line
    assert "in the SES sandbox, so SES checks each office address's identity too" in line
    assert "this IAM has no policy simulator: the doctor read the roles' own policies" in line
    assert "IntakeFunction" not in line
    assert advice == ""


def test_a_role_that_would_refuse_an_office_address_verified_alone_fails_and_is_named(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's sandbox: an office address verified alone, a role allowing only the sender's identities."""
    deployed.ses_account.account["ProductionAccessEnabled"] = False
    # The first office address is on the sender's verified domain: that identity is the domain's.
    deployed.client("ses").delete_identity(Identity=OFFICES[0])
    deployed.give_role_only("DigestFunction", SENDER_ONLY_STATEMENT)

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SEND]
    line, advice = line_of(output, SEND)
    role = deployed.physical("DigestFunctionRole")
    assert (
        f"IAM would refuse DigestFunction (role {role}) sending to {OFFICES[1]}: no statement of the role "
        f"allows it on arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:identity/{OFFICES[1]}"
    ) in line
    assert "NotifyFunction" not in line  # its role carries the template's permission
    assert OFFICES[0] not in line  # allowed through the sender's domain
    assert "fails with AccessDenied" in line
    assert "StaffEmailPolicy" in advice
    assert "leave the SES sandbox" in advice


def test_out_of_the_sandbox_the_recipients_identities_are_not_asked_for(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """With production access SES authorises only the sender's identity and the configuration set."""
    deployed.give_role_only("DigestFunction", SENDER_ONLY_STATEMENT)

    code, output = deployed.doctor(capsys)

    assert code == 0, output
    assert "out of the sandbox, so SES checks the sender's identity and the configuration set" in output


def test_a_role_that_may_not_send_from_the_sender_fails(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    other_sender = {
        **SENDER_ONLY_STATEMENT,
        "Condition": {"StringEquals": {"ses:FromAddress": "x@mail.example"}},
    }
    deployed.give_role_only("NotifyFunction", other_sender)

    code, output = deployed.doctor(capsys)

    assert code == 1
    line, _ = line_of(output, SEND)
    assert f"NotifyFunction (role {deployed.physical('NotifyFunctionRole')}) sending from {SENDER}" in line
    assert f"through the configuration set {CONFIG_SET}" in line


def test_an_explicit_deny_beside_the_templates_permission_fails_and_says_which(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Deny added by hand wins over StaffEmailPolicy's Allow, as IAM decides."""
    deployed.ses_account.account["ProductionAccessEnabled"] = False
    deny = {
        "Sid": "NoNurse",
        "Effect": "Deny",
        "Action": "ses:Send*",
        "Resource": f"arn:aws:ses:*:*:identity/{OFFICES[1]}",
    }
    deployed.client("iam").put_role_policy(
        RoleName=deployed.physical("NotifyFunctionRole"),
        PolicyName="hand-made",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
    )

    code, output = deployed.doctor(capsys)

    assert code == 1
    line, _ = line_of(output, SEND)
    assert f"NotifyFunction (role {deployed.physical('NotifyFunctionRole')}) sending to {OFFICES[1]}" in line
    assert "denied by inline policy hand-made, statement NoNurse" in line
    assert "DigestFunction" not in line


@dataclass
class PolicySimulator:
    """IAM's SimulatePrincipalPolicy, answering in AWS's documented shape (moto has none)."""

    denied: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, session: boto3.session.Session) -> None:
        session.events.register("before-call.iam.SimulatePrincipalPolicy", self._simulate)

    def _simulate(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = params["body"]
        self.requests.append(body)
        resources = [value for key, value in body.items() if key.startswith("ResourceArns.member.")]
        results = [
            {
                "EvalResourceName": arn,
                "EvalResourceDecision": "implicitDeny" if arn in self.denied else "allowed",
                "MatchedStatements": [] if arn in self.denied else [{"SourcePolicyId": "StaffEmailPolicy"}],
            }
            for arn in resources
        ]
        answer = {
            "EvaluationResults": [
                {
                    "EvalActionName": "ses:SendEmail",
                    "EvalResourceName": "*",
                    "EvalDecision": "implicitDeny" if self.denied & set(resources) else "allowed",
                    "ResourceSpecificResults": results,
                    "MissingContextValues": [],
                }
            ],
            "IsTruncated": False,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
        return AWSResponse("https://iam.amazonaws.com", 200, {}, None), answer


def test_on_aws_the_answer_is_iams_policy_simulator(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.ses_account.account["ProductionAccessEnabled"] = False
    office_identity = f"arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:identity/{OFFICES[1]}"
    simulator = PolicySimulator(denied={office_identity})
    simulator.attach(deployed.session)

    code, output = deployed.doctor(capsys)

    assert code == 1
    line, _ = line_of(output, SEND)
    assert "IAM's policy simulator" in line
    assert "doctor read the roles' own policies" not in line
    assert f"sending to {OFFICES[1]}: no statement of the role allows it on {office_identity}" in line
    # One simulation per sending function, of ses:SendEmail, with the keys SES puts on the request.
    assert len(simulator.requests) == len(SENDING_FUNCTIONS)
    for request in simulator.requests:
        assert request["ActionNames.member.1"] == "ses:SendEmail"
        values = set(request.values())
        assert {office_identity, "ses:FromAddress", "ses:Recipients", SENDER, *OFFICES} <= values
        assert f"arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:configuration-set/{CONFIG_SET}" in values


def test_sending_paused_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.ses_account.account.update(SendingEnabled=False, EnforcementStatus="SHUTDOWN")

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SENDING]
    line, advice = line_of(output, SENDING)
    assert "enforcement status SHUTDOWN" in line
    assert "aws sesv2 put-account-sending-attributes --sending-enabled" in advice


def test_unverified_sender_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("ses").delete_identity(Identity=SENDER)
    deployed.client("sesv2").delete_email_identity(EmailIdentity=DOMAIN)

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert SENDER_CHECK in failed_checks(output)
    line, advice = line_of(output, SENDER_CHECK)
    assert f"{SENDER} is not a verified SES identity, nor is its domain" in line
    assert f"aws sesv2 create-email-identity --email-identity {DOMAIN}" in advice
    assert "CreateSenderIdentity=true" in advice


def test_sender_whose_verification_is_pending_fails(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.client("sesv2").delete_email_identity(EmailIdentity=DOMAIN)
    # SES's state before the link it mailed was clicked (moto verifies at once, so set it directly).
    ses_backends[DEFAULT_ACCOUNT_ID][REGION].email_identities[SENDER].verification_status = "PENDING"

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert line_of(output, SENDER_CHECK)[0].startswith("[FAIL]")


def test_sender_verified_through_its_domain_passes(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.client("ses").delete_identity(Identity=SENDER)

    code, output = deployed.doctor(capsys)

    assert code == 0
    assert f"{SENDER} is verified through its domain {DOMAIN}" in output


def test_domain_without_dkim_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sesv2 = deployed.client("sesv2")
    sesv2.delete_email_identity(EmailIdentity=DOMAIN)
    sesv2.create_email_identity(EmailIdentity=DOMAIN)  # no DKIM signing set up

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [DKIM]
    line, advice = line_of(output, DKIM)
    assert f"{DOMAIN} has DKIM status NOT_STARTED" in line
    assert "publish the three CNAME records" in advice


def test_configuration_set_without_tls_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sesv2 = deployed.client("sesv2")
    sesv2.delete_configuration_set(ConfigurationSetName=CONFIG_SET)
    sesv2.create_configuration_set(ConfigurationSetName=CONFIG_SET, DeliveryOptions={"TlsPolicy": "OPTIONAL"})

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [CONFIG]
    line, advice = line_of(output, CONFIG)
    assert f"{CONFIG_SET}: TLS policy OPTIONAL" in line
    assert f"--configuration-set-name {CONFIG_SET} --tls-policy REQUIRE" in advice


def test_missing_configuration_set_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("sesv2").delete_configuration_set(ConfigurationSetName=CONFIG_SET)

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert CONFIG in failed_checks(output)
    assert f"configuration set {CONFIG_SET} does not exist" in line_of(output, CONFIG)[0]


def test_suppressed_office_address_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.ses_account.suppressed[OFFICES[0]] = {
        "EmailAddress": OFFICES[0],
        "Reason": "BOUNCE",
        "LastUpdateTime": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    }

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SUPPRESSION]
    line, advice = line_of(output, SUPPRESSION)
    assert f"{OFFICES[0]} (BOUNCE since 2026-11-20)" in line
    assert OFFICES[1] not in line
    # The configuration set as template.yaml defines it: does it override the account's list?
    overrides = "SuppressionOptions" in resource_of_type("AWS::SES::ConfigurationSet")[1]["Properties"]
    assert (
        "the configuration set overrides the account's list" if overrides else "uses the account's list"
    ) in line
    assert "aws sesv2 delete-suppressed-destination --email-address ADDRESS" in advice


@pytest.mark.parametrize(
    ("suppression_options", "said"),
    [
        (None, "the configuration set uses the account's list (a bounce silences that address)"),
        (
            {"SuppressedReasons": []},
            "the configuration set overrides the account's list and suppresses nothing",
        ),
        ({"SuppressedReasons": ["COMPLAINT"]}, "overrides the account's list and suppresses COMPLAINT"),
    ],
)
def test_the_checklist_says_whether_the_configuration_set_overrides_the_account_list(
    deployed: Deployed,
    capsys: pytest.CaptureFixture[str],
    suppression_options: dict[str, list[str]] | None,
    said: str,
) -> None:
    sesv2 = deployed.client("sesv2")
    sesv2.delete_configuration_set(ConfigurationSetName=CONFIG_SET)
    options = {"SuppressionOptions": suppression_options} if suppression_options is not None else {}
    sesv2.create_configuration_set(
        ConfigurationSetName=CONFIG_SET, DeliveryOptions={"TlsPolicy": "REQUIRE"}, **options
    )

    code, output = deployed.doctor(capsys)

    assert code == 0
    assert said in line_of(output, SUPPRESSION)[0]


def test_stream_off_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("dynamodb").update_table(TableName=TABLE, StreamSpecification={"StreamEnabled": False})

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [STREAM]
    line, advice = line_of(output, STREAM)
    assert f"{TABLE}: stream off" in line
    assert "StreamEnabled=true,StreamViewType=NEW_IMAGE" in advice


def test_ttl_off_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("dynamodb").update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": False}
    )

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [TTL]
    assert "Enabled=true,AttributeName=expires_at" in line_of(output, TTL)[1]


def test_pitr_off_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("dynamodb").update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [PITR]
    line, advice = line_of(output, PITR)
    assert f"{TABLE}: PITR disabled" in line
    assert "PointInTimeRecoveryEnabled=true" in advice


def test_missing_table_fails_each_table_check(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("dynamodb").delete_table(TableName=TABLE)

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [STREAM, TTL, PITR]
    assert f"table {TABLE} does not exist" in line_of(output, STREAM)[0]


def test_pending_subscription_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # AWS's state until the confirmation link is clicked (moto confirms at once, so set it directly).
    sns_backends[DEFAULT_ACCOUNT_ID][REGION].subscriptions[deployed.subscription_arn].attributes[
        "PendingConfirmation"
    ] = True

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SUBSCRIPTION]
    line, advice = line_of(output, SUBSCRIPTION)
    assert f"email:{ALARM_EMAIL} never confirmed (PendingConfirmation)" in line
    assert "Confirm subscription" in advice
    assert f"aws sns subscribe --topic-arn {deployed.topic_arn}" in advice


def test_no_subscription_fails(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.client("sns").unsubscribe(SubscriptionArn=deployed.subscription_arn)

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SUBSCRIPTION]
    line, advice = line_of(output, SUBSCRIPTION)
    assert "nobody is subscribed" in line
    assert "AlarmEmail=" in advice


def test_a_refused_read_fails_never_skips(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    deployed.ses_account.errors["GetAccount"] = "AccessDeniedException"

    code, output = deployed.doctor(capsys)

    assert code == 1
    assert failed_checks(output) == [SENDING, SANDBOX]
    line, advice = line_of(output, SENDING)
    assert "could not read: AccessDeniedException" in line
    assert "credentials" in advice


def test_unknown_stack_exits_2(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code = doctor.main(["--stack", "no-such-stack"], session=deployed.session)

    assert code == 2
    assert "doctor: stack 'no-such-stack'" in capsys.readouterr().err


def test_samconfig_names_the_stack_of_each_environment() -> None:
    assert doctor.samconfig_stack("default")[0] == "callback-requests"
    assert doctor.samconfig_stack("staging")[0] == "callback-requests-staging"
    with pytest.raises(doctor.TargetNotFound, match=r"no \[nowhere\] environment"):
        doctor.samconfig_stack("nowhere")
