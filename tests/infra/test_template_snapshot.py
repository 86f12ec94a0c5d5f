"""What the stack deploys, held still while template.yaml is rewritten.

snapshots/translated-template.json is the translation (sam_translate.py, the web ACL on) of the
template as it was before a change that must not change what is deployed (issue 21: the six function
log groups written once). A change that is meant to change the stack regenerates it, and the diff
of the snapshot in the same commit shows exactly what the deployed stack gains or loses:

    .venv-sam/bin/python tests/infra/sam_translate.py --parameter EnableWebAcl=true \\
      > tests/infra/snapshots/translated-template.json

Why a YAML anchor and not Fn::ForEach (measured with SAM CLI 1.170, cfn-lint 1.58, checkov 3.3.30):
with Fn::ForEach and the AWS::LanguageExtensions transform, cfn-lint and `sam validate --lint`
pass, but checkov has no language extensions and silently checks 34 instead of 46 (the six groups'
KMS and retention checks vanish); `sam build` stops with an AttributeError unless
`--language-extensions` is given (local expansion is opt-in since SAM CLI 1.160), and its local
expansion turns `!Sub /aws/lambda/${IntakeFunction}` into a plain string; infra/provision.py's
loader meets a list where a resource should be; and the deploy needs CAPABILITY_AUTO_EXPAND and a
server-side transform no test here can run. An alias is resolved by every YAML reader, and SAM
CLI's build and package write the template with every alias expanded (CloudFormation itself
refuses aliases), so what CloudFormation receives is what it received before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.translated import translate

SNAPSHOT = Path(__file__).with_name("snapshots") / "translated-template.json"


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(EnableWebAcl="true")


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return loaded


def test_given_the_snapshot_then_it_holds_the_function_log_groups_roles_and_alarms(
    snapshot: dict[str, Any],
) -> None:
    types = [definition["Type"] for definition in snapshot["Resources"].values()]
    function_log_groups = [
        definition
        for definition in snapshot["Resources"].values()
        if definition["Type"] == "AWS::Logs::LogGroup" and "DataProtectionPolicy" in definition["Properties"]
    ]

    assert len(function_log_groups) == types.count("AWS::Lambda::Function") == 6
    assert types.count("AWS::CloudWatch::Alarm") == 22
    assert types.count("AWS::IAM::Role") >= 6


def test_given_the_template_then_each_resource_translates_as_in_the_snapshot(
    translated: dict[str, Any], snapshot: dict[str, Any]
) -> None:
    now, before = translated["Resources"], snapshot["Resources"]
    changed = sorted(name for name in set(now) & set(before) if now[name] != before[name])

    assert sorted(set(now) - set(before)) == [], "resources the snapshot does not have"
    assert sorted(set(before) - set(now)) == [], "resources of the snapshot no longer made"
    assert changed == [], "resources whose properties, policies or settings changed"


@pytest.mark.parametrize("section", ["Parameters", "Conditions", "Mappings", "Outputs"])
def test_given_the_template_then_its_other_sections_translate_as_in_the_snapshot(
    translated: dict[str, Any], snapshot: dict[str, Any], section: str
) -> None:
    assert translated.get(section) == snapshot.get(section)


def test_given_the_function_log_groups_then_their_data_protection_policy_is_written_once() -> None:
    """The policy (audit, then mask) is in template.yaml once; the six log groups name it (YAML alias)."""
    text = (Path(__file__).resolve().parents[2] / "template.yaml").read_text(encoding="utf-8")

    assert text.count("Name: callback-requests-personal-data") == 1
    assert text.count("DataProtectionPolicy: *personal-data-policy") == 5
