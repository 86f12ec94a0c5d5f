"""What IAM decides when a function's role calls ses:SendEmail: IAM's policy simulator, or our own reading.

SES authorises a SendEmail against the identity it sends from (the sender's address, or its
domain), the configuration set and, while the account is in the SES sandbox, each recipient's
identity as well. `make doctor` asks, for each function that sends, what IAM decides on each of
those resources with the request's condition keys (ses:FromAddress, ses:Recipients).

On AWS the answer is IAM's own (SimulatePrincipalPolicy). Where there is no simulator (moto
implements none), the role's own policies (inline and attached) are read and evaluated here:
explicit Deny over Allow, Action, NotAction, Resource and NotResource with wildcards, and the
condition operators an SES permission uses (String*, Null, ForAllValues/ForAnyValue, ...IfExists).
That reading knows nothing of permission boundaries, session policies or an organisation's SCPs,
and a condition operator it does not know makes it say so rather than guess.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

ACTION = "ses:SendEmail"
ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    resource: str
    decision: str  # allowed, explicitDeny, implicitDeny, or unknown (our reading could not tell)
    why: str


@dataclass(frozen=True)
class Policy:
    name: str
    document: dict[str, Any]


class SimulatorUnavailable(Exception):
    """This IAM has no policy simulator (moto, an emulator)."""


def identity_arn(partition: str, region: str, account: str, identity: str) -> str:
    return f"arn:{partition}:ses:{region}:{account}:identity/{identity}"


def configuration_set_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:ses:{region}:{account}:configuration-set/{name}"


def send_context(sender: str, recipients: Sequence[str]) -> dict[str, list[str]]:
    """The condition keys SES puts on a SendEmail request from ``sender`` to ``recipients``."""
    return {"ses:FromAddress": [sender], "ses:Recipients": list(recipients)}


# --- IAM's simulator ---------------------------------------------------------------------------


def simulate(
    iam: Any, role_arn: str, resources: Sequence[str], context: Mapping[str, list[str]]
) -> list[Decision]:
    """IAM's own decision for each resource (SimulatePrincipalPolicy with the request's keys)."""
    entries = [
        {
            "ContextKeyName": key,
            "ContextKeyValues": values,
            "ContextKeyType": "stringList" if key == "ses:Recipients" else "string",
        }
        for key, values in context.items()
    ]
    try:
        pages = iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=role_arn,
            ActionNames=[ACTION],
            ResourceArns=list(resources),
            ContextEntries=entries,
        )
        results = [result for page in pages for result in page["EvaluationResults"]]
    except NotImplementedError as error:  # moto in-process
        raise SimulatorUnavailable(str(error)) from None
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 501 or "NotImplemented" in str(error.response.get("Error", {}).get("Code", "")):
            raise SimulatorUnavailable(str(error)) from None
        raise
    decisions = []
    for result in results:
        for specific in result.get("ResourceSpecificResults") or []:
            decisions.append(
                _simulated(specific["EvalResourceName"], specific["EvalResourceDecision"], specific)
            )
        if not result.get("ResourceSpecificResults"):
            decisions.append(_simulated(result.get("EvalResourceName", "*"), result["EvalDecision"], result))
    return decisions


def _simulated(resource: str, decision: str, result: Mapping[str, Any]) -> Decision:
    matched = [statement.get("SourcePolicyId", "?") for statement in result.get("MatchedStatements") or []]
    if decision == ALLOWED:
        why = f"allowed by {', '.join(matched)}" if matched else "allowed"
    elif decision == EXPLICIT_DENY:
        why = f"denied by a Deny statement of {', '.join(matched) or 'a policy'}"
    else:
        missing = result.get("MissingContextValues") or []
        why = "no statement of the role allows it" + (
            f" (missing context {', '.join(missing)})" if missing else ""
        )
    return Decision(resource, decision, why)


# --- Our own reading of the role's policies ----------------------------------------------------


def role_policies(iam: Any, role_name: str) -> list[Policy]:
    """The role's inline policies and the default version of each attached managed policy."""
    policies: list[Policy] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for name in page["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            policies.append(Policy(f"inline policy {name}", _document(document)))
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        for attached in page["AttachedPolicies"]:
            arn = attached["PolicyArn"]
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            policies.append(Policy(f"managed policy {attached['PolicyName']}", _document(document)))
    return policies


def _document(document: Any) -> dict[str, Any]:
    if isinstance(document, str):  # the API's URL-encoded JSON, where no SDK decoded it
        document = json.loads(unquote(document))
    loaded: dict[str, Any] = document
    return loaded


def evaluate(
    policies: Sequence[Policy],
    resources: Sequence[str],
    context: Mapping[str, list[str]],
    action: str = ACTION,
) -> list[Decision]:
    """IAM's evaluation of identity policies alone: any matching Deny wins, then any Allow."""
    return [_evaluate_one(policies, resource, context, action) for resource in resources]


def _evaluate_one(
    policies: Sequence[Policy], resource: str, context: Mapping[str, list[str]], action: str
) -> Decision:
    allowed_by: list[str] = []
    unknown: list[str] = []
    for policy in policies:
        for index, statement in enumerate(_as_list(policy.document.get("Statement"))):
            label = f"{policy.name}, statement {statement.get('Sid') or index + 1}"
            if not (_matches_action(statement, action) and _matches_resource(statement, resource)):
                continue
            verdict = _conditions_hold(statement.get("Condition") or {}, context)
            if verdict is None:
                unknown.append(label)
                continue
            if not verdict:
                continue
            if statement.get("Effect") == "Deny":
                return Decision(resource, EXPLICIT_DENY, f"denied by {label}")
            if statement.get("Effect") == "Allow":
                allowed_by.append(label)
    if allowed_by:
        return Decision(resource, ALLOWED, f"allowed by {allowed_by[0]}")
    if unknown:
        return Decision(resource, UNKNOWN, f"a condition the doctor cannot evaluate, in {', '.join(unknown)}")
    return Decision(resource, IMPLICIT_DENY, "no statement of the role allows it")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case: bool = True) -> bool:
    # IAM's wildcards: * any run, ? one character; nothing else is special (fnmatch's [ ] would be).
    escaped = pattern.replace("[", "[[]")
    if not case:
        return fnmatch.fnmatchcase(value.lower(), escaped.lower())
    return fnmatch.fnmatchcase(value, escaped)


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    # Action names are case-insensitive.
    if "NotAction" in statement:
        return not any(_wildcard(p, action, case=False) for p in _as_list(statement["NotAction"]))
    return any(_wildcard(p, action, case=False) for p in _as_list(statement.get("Action")))


def _matches_resource(statement: Mapping[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_wildcard(p, resource) for p in _as_list(statement["NotResource"]))
    return any(_wildcard(p, resource) for p in _as_list(statement.get("Resource")))


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringEqualsIgnoreCase": lambda value, wanted: value.lower() == wanted.lower(),
    "StringLike": lambda value, wanted: _wildcard(wanted, value),
}


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, list[str]]
) -> bool | None:
    """True when every condition holds, False when one does not, None when one cannot be judged."""
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            verdict = _condition(operator, key, [str(w) for w in _as_list(wanted)], context)
            if verdict is None or not verdict:
                return verdict
    return True


def _condition(operator: str, key: str, wanted: list[str], context: Mapping[str, list[str]]) -> bool | None:
    present = {name.lower(): values for name, values in context.items()}  # keys are case-insensitive
    values = present.get(key.lower())
    if operator == "Null":
        return (values is None) == (wanted[0].lower() == "true")
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base.startswith("StringNot")
    test = _STRING_TESTS.get(base.replace("StringNot", "String", 1))
    if test is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        return None
    if values is None:
        return _absent_key(qualifier, if_exists=if_exists, negated=negated)

    def one(value: str) -> bool:
        matched = any(test(value, w) for w in wanted)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(value) for value in values)
    return any(one(value) for value in values)


def _absent_key(qualifier: str, *, if_exists: bool, negated: bool) -> bool:
    """IAM on a key the request does not carry."""
    if qualifier == "ForAllValues":
        return True  # vacuously: hence the Null test beside it
    if qualifier == "ForAnyValue":
        return False
    return if_exists or negated  # a negated operator holds for an absent key


def refusals(decisions: Iterable[Decision]) -> list[Decision]:
    return [decision for decision in decisions if decision.decision != ALLOWED]
