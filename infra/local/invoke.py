"""Run one of the template's functions once against a running local stack (``make run``), the way
its trigger would: the scheduled ones on demand.

    .venv/bin/python -m infra.local.invoke DigestFunction                     (make digest)
    .venv/bin/python -m infra.local.invoke DigestFunction --event '{"scheduled_time": "2026-12-08T14:00:00Z"}'

It runs the real handler in this process with the stack's environment (resolved from template.yaml
as the stack resolves it), pointed at the stack's moto, and writes any email it sends to the same
outbox. Ports and outbox follow the same flags and environment variables as ``make run``.
"""

from __future__ import annotations

import argparse
import json

from infra.local.cli import add_common_arguments
from infra.local.lambdas import LocalFunction
from infra.local.stack import StackConfig, enter_local_aws, resolve_signing_secret
from infra.local.template import function_specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.invoke", description=__doc__.split("\n\n")[0]
    )
    specs = function_specs()
    parser.add_argument("function", choices=sorted(specs), help="the template's logical id of the function")
    parser.add_argument("--event", default="{}", help="the event, as JSON (default: {})")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    config = StackConfig(api_port=args.api_port, moto_port=args.moto_port, outbox=args.outbox)
    enter_local_aws(config)
    try:
        resolve_signing_secret()
        result = LocalFunction(specs[args.function]).invoke(json.loads(args.event))
    except Exception as error:  # the stack is probably not running: say so in one line
        print(f"error: {args.function} failed: {type(error).__name__}: {error}")
        print(f"       is the local stack running (make run) with moto on {config.moto_url}?")
        return 1
    print(f"{args.function}: {json.dumps(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
