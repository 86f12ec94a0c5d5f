"""Command line of the local stack: flags, the startup banner, and a clean stop on Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import time
from pathlib import Path

from infra.local.outbox import shown
from infra.local.stack import QUEUE_NAME, TABLE_NAME, LocalStack, StackConfig
from infra.local.template import REPO_ROOT, api_spec


def env(name: str, default: object) -> object:
    """The environment variable ``name`` when set, else ``default`` (argparse converts either by type)."""
    return os.environ.get(name, "").strip() or default


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `make run` and the on-demand commands share, so that they find each other."""
    parser.add_argument(
        "--api-port", type=int, default=env("API_PORT", 3000), help="API and demo page port (env API_PORT)"
    )
    parser.add_argument(
        "--moto-port", type=int, default=env("MOTO_PORT", 5000), help="moto server port (env MOTO_PORT)"
    )
    parser.add_argument(
        "--outbox",
        type=lambda text: Path(text).resolve(),
        default=env("OUTBOX_DIR", REPO_ROOT / ".local" / "outbox"),
        help="directory the sent emails are written to as .eml files (env OUTBOX_DIR)",
    )


def parse_args(argv: list[str] | None = None) -> StackConfig:
    spec = api_spec()
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run the call-back request system locally, without Docker or an AWS account: "
        "moto (in-memory AWS) provisioned from template.yaml, the API with the real intake handler, "
        "a stream poller feeding the real notify handler, the template's schedules, "
        "an .eml outbox and the demo page.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--moto-host",
        default=env("MOTO_HOST", "127.0.0.1"),
        help="address moto listens on (env MOTO_HOST); `make sam-local` gives it Docker's bridge address "
        "so that sam local's containers reach it; never 0.0.0.0",
    )
    parser.add_argument(
        "--extra-origin",
        dest="extra_origins",
        action="append",
        type=lambda origin: origin.rstrip("/"),
        default=[],
        metavar="URL",
        help="another origin allowed to post the form, e.g. a page embedding it (repeatable)",
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=env("THROTTLE_RATE_LIMIT", spec.rate_limit),
        help="requests per second before 429 (env THROTTLE_RATE_LIMIT; template's ThrottleRateLimit)",
    )
    parser.add_argument(
        "--throttle-burst",
        type=int,
        default=env("THROTTLE_BURST_LIMIT", spec.burst_limit),
        help="burst of requests before 429 (env THROTTLE_BURST_LIMIT; template's ThrottleBurstLimit)",
    )
    parser.add_argument(
        "--stream-max-retries",
        type=int,
        default=argparse.SUPPRESS,  # its default is described in words, not printed as "None"
        help="retries of a failed stream batch before the dead-letter queue "
        "(default: the template's MaximumRetryAttempts, raised until the retries span 60 s)",
    )
    parser.add_argument(
        "--stream-max-backoff",
        type=float,
        default=5.0,
        help="longest wait between retries of a stream batch, in seconds (backoff 0.5, 1, 2 ... capped)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=float,
        default=env("SWEEP_INTERVAL", 20.0),
        help="seconds between runs of the staff-alert sweep (env SWEEP_INTERVAL; 5 minutes in AWS)",
    )
    parser.add_argument(
        "--env",
        dest="extra_environment",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a function setting over the template's, e.g. ADDRESS_HOURLY_CAP=1000 (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        if ipaddress.ip_address(args.moto_host).is_unspecified:
            parser.error(f"--moto-host {args.moto_host} would listen on every network; give one address")
    except ValueError:
        parser.error(f"--moto-host {args.moto_host!r} is not an IP address")
    settings = dict(setting.split("=", 1) for setting in args.extra_environment if "=" in setting)
    # Each flag is named as the field of StackConfig it sets.
    return StackConfig(
        **{**vars(args), "extra_origins": tuple(args.extra_origins), "extra_environment": settings}
    )


def banner(stack: LocalStack, seconds: float) -> str:
    config = stack.config
    curl = (
        f"curl -i {config.api_base}/callback-requests -H 'Content-Type: application/json' "
        '-d \'{"name": "Jane Doe", "phone": "(662) 377-6290", "best_time": "morning", "consent": true}\''
    )
    return "\n".join(
        [
            f"local stack up in {seconds:.1f} s (Ctrl-C stops it)",
            f"  demo page   {config.api_base}/",
            f"  API         {config.api_base}/callback-requests  (and /callback-form.js)",
            f"  origins     {', '.join(config.allowed_origins)}",
            f"  moto        {config.moto_url}  (table {TABLE_NAME}, dead-letter queue {QUEUE_NAME})",
            f"  outbox      {shown(config.outbox)}/",
            *(f"  schedule    {line}" for line in stack.next_schedules()),
            f"  sweep       every {config.sweep_interval:g} s here",
            "  on demand   make sweep, make digest, make summary, make ses-event",
            f"  try         {curl}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    config = parse_args(argv)
    # Ctrl-C and SIGTERM wait for sigwait below, in this thread: the stack's threads inherit the block.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    stack = LocalStack(config)
    try:
        stack.start()
        print(banner(stack, time.monotonic() - started), flush=True)
        print(f"\nstopping ({signal.Signals(signal.sigwait(stop_signals)).name})", flush=True)
    finally:
        stack.stop()
    print("stopped", flush=True)
    return 0
