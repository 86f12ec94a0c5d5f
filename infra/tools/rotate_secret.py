"""`make rotate-secret STACK=<name>`: a new signing secret for a deployed stack, in one command.

1. In the stack's SigningSecret (Secrets Manager): the current value becomes ``previous`` and a
   new random one becomes ``current``, so what was signed just before (a form on a visitor's
   screen, a mark-as-called link in the office's inbox) keeps working until the next rotation.
2. The stack is updated with its own template and parameters, only ``SigningSecretRotation`` new:
   CloudFormation resolves the functions' dynamic references again, and they sign with the new
   value from their next cold start.

The keyed hashes of the spam caps start afresh (their counters are hours or days long).

A stack that is not settled (an update in progress) is refused before anything changes. If the
update cannot start, or fails and rolls back, the secret is put back as it was: the functions still
sign with the value that would have become ``previous``, and a second attempt would otherwise drop
it, with every link it signed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

ROTATION_PARAMETER = "SigningSecretRotation"
SECRET_RESOURCE = "SigningSecret"  # noqa: S105 - a logical id, not a secret
# The template's GenerateSecretString: 64 characters, letters and digits.
SECRET_LENGTH = 64
# The states in which CloudFormation takes an update.
SETTLED = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)


class RotationRefusedError(RuntimeError):
    """The stack cannot take an update now; nothing was changed."""


def rotated(secret_string: str, new_value: str) -> str:
    """The secret's next value: ``new_value`` current, the current one previous."""
    value = json.loads(secret_string)
    return json.dumps({"current": new_value, "previous": value["current"]})


def rotate(session: Any, stack: str, *, now: float | None = None, wait: bool = True) -> str:
    """Rotate ``stack``'s signing secret and redeploy it; the rotation's new parameter value."""
    cloudformation = session.client("cloudformation")
    secrets = session.client("secretsmanager")
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    status = described.get("StackStatus", "")
    if status not in SETTLED:
        raise RotationRefusedError(
            f"{stack} is {status or 'in an unknown state'}: nothing was changed; retry once it settles"
        )
    secret_id = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=SECRET_RESOURCE)[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    new_value = secrets.get_random_password(PasswordLength=SECRET_LENGTH, ExcludePunctuation=True)[
        "RandomPassword"
    ]
    current = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    rotation = str(int(time.time() if now is None else now))
    parameters = [
        {"ParameterKey": ROTATION_PARAMETER, "ParameterValue": rotation}
        if parameter["ParameterKey"] == ROTATION_PARAMETER
        else {"ParameterKey": parameter["ParameterKey"], "UsePreviousValue": True}
        for parameter in described.get("Parameters", [])
    ]
    secrets.put_secret_value(SecretId=secret_id, SecretString=rotated(current, new_value))
    try:
        cloudformation.update_stack(
            StackName=stack,
            UsePreviousTemplate=True,
            Parameters=parameters,
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        if wait:
            cloudformation.get_waiter("stack_update_complete").wait(StackName=stack)
    except Exception:
        # Not deployed, or rolled back: the functions sign with the old current value. Put it back.
        secrets.put_secret_value(SecretId=secret_id, SecretString=current)
        raise
    return rotation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make rotate-secret", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    args = parser.parse_args(argv)
    import boto3

    try:
        rotation = rotate(boto3.session.Session(), args.stack)
    except RotationRefusedError as refused:
        print(refused, file=sys.stderr)
        return 1
    print(
        f"{args.stack}: signing secret rotated; the functions read it from their next cold start ({rotation})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
