"""Print each function's environment as `sam local invoke --env-vars FILE` would give it (no Docker).

Run with the SAM CLI's interpreter (``.venv-sam/bin/python tests/infra/sam_local_env.py``): the
template is read by SAM CLI's own stack and function providers (Globals, intrinsics resolved as
SAM CLI resolves them), and each environment is made by the same LocalLambdaRunner method that
`sam local invoke`, `start-api` and `start-lambda` call before they start a container.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--env-vars", type=Path, default=None, help="the --env-vars file (default: none)")
    args = parser.parse_args()
    stacks, _ = SamLocalStackProvider.get_stacks(
        str(args.template), parameter_overrides={"Architecture": "x86_64"}
    )
    provider = SamFunctionProvider(stacks)
    env_vars = json.loads(args.env_vars.read_text(encoding="utf-8")) if args.env_vars else {}
    runner = LocalLambdaRunner(
        local_runtime=None,  # type: ignore[arg-type]  # no container is started
        function_provider=provider,
        cwd=str(ROOT),
        real_path=str(ROOT),
        aws_region="us-east-1",
        env_vars_values=env_vars,
    )
    environments = {
        function.name: runner._make_env_vars(function).resolve() for function in provider.get_all()
    }
    json.dump(environments, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
