"""`make doctor` against moto: the local stack as `make run` provisions it, a deployed stack, and
each failure it reports, with its exit code and what it tells the developer to do.

moto has no SES account API (GetAccount) and no suppression list, so for a deployed stack those two
answers are given in AWS's documented shape by a botocore hook on the session; every other answer
comes from moto's own state, changed through the AWS APIs where moto has them.
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
from infra.provision import provision, resource_of_type
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
DKIM = "Sender's domain signs with DKIM"
CONFIG = "Configuration set present and requiring TLS"
SUPPRESSION = "No office address on the account's suppression list"
STREAM = "Table stream on (NEW_IMAGE)"
TTL = "Table TTL on"
PITR = "Table point-in-time recovery on"
SUBSCRIPTION = "Alarm topic subscription confirmed"
ALL_CHECKS = (SENDING, SANDBOX, SENDER_CHECK, DKIM, CONFIG, SUPPRESSION, STREAM, TTL, PITR, SUBSCRIPTION)


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


def notifier_stack_template() -> str:
    """The resources the doctor looks for, with the names template.yaml gives them."""
    role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return json.dumps(
        {
            "Resources": {
                "NotifyRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"AssumeRolePolicyDocument": role_policy},
                },
                "NotifyFunction": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "python3.13",
                        "Handler": "callbacks.handlers.notify.lambda_handler",
                        "Role": {"Fn::GetAtt": ["NotifyRole", "Arn"]},
                        "Code": {"ZipFile": "def lambda_handler(event, context): pass"},
                        "Environment": {
                            "Variables": {
                                "TABLE_NAME": TABLE,
                                "SENDER_EMAIL": SENDER,
                                "OFFICE_EMAILS": ",".join(OFFICES),
                                "SES_CONFIGURATION_SET": CONFIG_SET,
                            }
                        },
                    },
                },
                "StaffAlertAlarmTopic": {"Type": "AWS::SNS::Topic"},
            }
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
        cloudformation.create_stack(StackName=STACK, TemplateBody=notifier_stack_template())
        topic_arn = next(
            r["PhysicalResourceId"]
            for r in cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
            if r["LogicalResourceId"] == "StaffAlertAlarmTopic"
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
        "[n/a ]",  # no DNS, no DKIM
        "[ ok ]",
        "[n/a ]",  # no suppression list in moto
        "[ ok ]",
        "[ ok ]",
        "[ ok ]",
        "[n/a ]",  # no alarms locally
    ]
    for check in (SENDING, DKIM, SUPPRESSION, SUBSCRIPTION):
        assert "not applicable here: " in line_of(output, check)[0]
    assert "counts as in the sandbox; every office address is a verified identity" in output
    assert output.splitlines()[-1] == "6 ok, 0 failed, 4 not applicable here"


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
