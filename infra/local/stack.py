"""The whole local system in one process: moto, provisioning, the functions, the poller, the API."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3

from infra.local.lambdas import LocalFunction
from infra.local.moto_patches import patch_moto
from infra.local.moto_server import moto_app, point_boto3_at
from infra.local.outbox import Outbox
from infra.local.schedules import Scheduler
from infra.local.server import BackgroundServer, LocalApi
from infra.local.streams import StreamPoller, local_retry_policy
from infra.local.template import (
    REPO_ROOT,
    api_spec,
    function_specs,
    resolve,
    schedule_specs,
    stream_source_spec,
)
from infra.provision import create_signing_secret, provision, resource_of_type, signing_secret_environment

# The names infra/sam/env-vars.json uses, so that `sam local invoke` against this moto finds the
# same table, sender and configuration set.
TABLE_NAME = "callback-requests"
# The stack's name as the template's !Ref AWS::StackName reads here: the live site's default
# (samconfig.toml), so the local functions' metrics and logs carry service=callback-requests.
STACK_NAME = "callback-requests"
QUEUE_NAME = "staff-alert-dlq"
CONFIGURATION_SET = "staff-alerts"
SENDER_EMAIL = "callbacks@example.com"
OFFICE_EMAILS = "office@example.com"
SIGNING_SECRET_NAME = "callback-requests/signing-secret"  # noqa: S105 - a name, not a secret


@dataclass(frozen=True)
class StackConfig:
    api_port: int = 3000
    moto_port: int = 5000
    moto_host: str = "127.0.0.1"
    extra_origins: tuple[str, ...] = ()
    outbox: Path = REPO_ROOT / ".local" / "outbox"
    throttle_rate: float = field(default_factory=lambda: api_spec().rate_limit)  # ThrottleRateLimit's
    throttle_burst: int = field(default_factory=lambda: api_spec().burst_limit)  # ThrottleBurstLimit's
    stream_max_retries: int | None = None  # None: the template's, raised to span a minute
    stream_max_backoff: float = 5.0
    sweep_interval: float = 20.0  # the staff-alert sweep's period here (5 minutes in the template)
    # Settings over the template's (`--env NAME=VALUE`): the e2e suite lifts the spam caps with it.
    extra_environment: dict[str, str] = field(default_factory=dict)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def moto_url(self) -> str:
        return f"http://{self.moto_host}:{self.moto_port}"

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return (self.api_base, f"http://localhost:{self.api_port}", *self.extra_origins)


def function_environment(config: StackConfig) -> dict[str, str]:
    """The functions' environment variables, resolved from the template with the local values."""
    refs = {
        "AWS::StackName": STACK_NAME,
        "SenderEmail": SENDER_EMAIL,
        "OfficeEmails": OFFICE_EMAILS,
        "AllowedOrigins": ",".join(config.allowed_origins),
        "ThankYouUrl": f"{config.api_base}/thank-you",
        resource_of_type("AWS::DynamoDB::Table")[0]: TABLE_NAME,
        resource_of_type("AWS::SES::ConfigurationSet")[0]: CONFIGURATION_SET,
    }
    environment: dict[str, str] = {
        # Metrics are for CloudWatch; locally their JSON would drown the console (--env ...=false shows them).
        "POWERTOOLS_METRICS_DISABLED": "true",
        # The sweep leaves requests younger than this to the stream (3 minutes in AWS): a demo waits less.
        "ALERT_SWEEP_MIN_AGE_SECONDS": "10",
    }
    # Local values for the API's URL, and for the secret's dynamic references (resolved at start).
    local_values = {"API_BASE_URL": config.api_base, **signing_secret_environment("")}
    for spec in function_specs().values():
        for name, value in spec.environment.items():
            environment[name] = local_values[name] if name in local_values else resolve(value, refs)
    # The template leaves AWS_ENDPOINT_URL to the platform; here the platform's AWS is moto.
    environment["AWS_ENDPOINT_URL"] = config.moto_url
    return environment


def resolve_signing_secret() -> None:
    """SIGNING_SECRET* from the stack's secret, as the template's dynamic references resolve them."""
    answer = boto3.client("secretsmanager").get_secret_value(SecretId=SIGNING_SECRET_NAME)
    os.environ.update(signing_secret_environment(**json.loads(answer["SecretString"])))


def enter_local_aws(config: StackConfig) -> None:
    """This process as the functions run here: boto3 at the local moto, the template's environment
    with the local values, and every email the functions send also in the outbox."""
    point_boto3_at(config.moto_url)
    os.environ.update({**function_environment(config), **config.extra_environment})
    Outbox(config.outbox).attach_to_functions()


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.functions = {name: LocalFunction(spec) for name, spec in function_specs().items()}
        # Both bound now: a taken port fails before anything else starts.
        rate, burst = config.throttle_rate, config.throttle_burst
        local_api = LocalApi(api_spec(), self.functions, rate=rate, burst=burst, port=config.api_port)
        self._api = BackgroundServer("127.0.0.1", config.api_port, local_api)
        self._moto = BackgroundServer(config.moto_host, config.moto_port, moto_app())
        self._moto_fixes = patch_moto()  # before moto handles a request
        self._poller: StreamPoller | None = None
        self._scheduler: Scheduler | None = None

    def start(self) -> None:
        self._moto.start()
        enter_local_aws(self.config)
        provisioned = provision(
            boto3.session.Session(),
            table_name=TABLE_NAME,
            queue_name=QUEUE_NAME,
            sender_email=SENDER_EMAIL,
            configuration_set=CONFIGURATION_SET,
            office_emails=OFFICE_EMAILS.split(","),
        )
        # The template's SigningSecret, made and resolved into the functions' environment as on a deploy.
        create_signing_secret(boto3.session.Session(), SIGNING_SECRET_NAME, secrets.token_urlsafe(48))
        resolve_signing_secret()
        # Every handler imported now, as Lambda's init phase would: one that cannot be stops the start.
        for function in self.functions.values():
            _ = function.handler
        stream = stream_source_spec()
        self._poller = StreamPoller(
            table_name=TABLE_NAME,
            spec=stream,
            function=self.functions[stream.function],
            retry=local_retry_policy(
                stream.maximum_retry_attempts, self.config.stream_max_backoff, self.config.stream_max_retries
            ),
            dead_letter_queue_url=provisioned.dead_letter_queue_url,
        )
        self._poller.start()
        # Locally the sweep runs every --sweep-interval seconds, not the template's 5 minutes.
        schedules = [
            replace(schedule, expression=f"rate({self.config.sweep_interval:g} seconds)")
            if schedule.function == "StaffAlertSweepFunction"
            else schedule
            for schedule in schedule_specs()
        ]
        self._scheduler = Scheduler(schedules, lambda name, event: self.functions[name].invoke(event))
        self._scheduler.start()
        self._api.start()

    def next_schedules(self) -> list[str]:
        """``DigestFunction at 2026-12-02T08:00:00-06:00`` for each schedule, in its own time zone."""
        firings = self._scheduler.next_firings if self._scheduler else {}
        return [
            f"{schedule.function} at {when.astimezone(ZoneInfo(schedule.time_zone)).isoformat()}"
            for schedule, when in sorted(firings.items(), key=lambda item: item[1])
        ]

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
        self._api.stop()
        if self._poller is not None:
            self._poller.stop()
        self._moto.stop()
        self._moto_fixes.close()
