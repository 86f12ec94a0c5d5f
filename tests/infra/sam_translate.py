"""Print template.yaml as CloudFormation receives it: SAM's own translator, as `sam deploy` runs it.

Run with the SAM CLI's interpreter (``.venv-sam/bin/python tests/infra/sam_translate.py``), so the
translation is the one of the SAM CLI version the Makefile pins, not a second copy in ``.venv``.
Parameters take their defaults; the required ones get sample values (``--parameter Name=value``
overrides any). No AWS call is made: the pseudo parameters are fixed and no managed policy is looked up.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
SAMPLE_PARAMETERS = {
    "SenderEmail": "callbacks@example.com",
    "OfficeEmails": "office@example.com",
    "AllowedOrigins": "https://www.example.com,https://example.com",
    "ThankYouUrl": "https://www.example.com/thank-you",
    "AlarmEmail": "developer@example.com",
}
PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "callback-requests",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/callback-requests/1",
    "AWS::URLSuffix": "amazonaws.com",
}


# What `sam package` puts in place of a local CodeUri (sam validate does the same before translating).
PACKAGED_CODE = "s3://packaged-code/functions.zip"


def _as_packaged(template: dict[str, Any]) -> dict[str, Any]:
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = PACKAGED_CODE
    for definition in template.get("Resources", {}).values():
        props = definition.get("Properties", {})
        if definition.get("Type") == "AWS::Serverless::Function" and "CodeUri" in props:
            props["CodeUri"] = PACKAGED_CODE
    return template


def translate(
    template_text: str, parameters: dict[str, str], stack_name: str | None = None
) -> dict[str, Any]:
    template = _as_packaged(yaml_parse(template_text))
    values = {**SAMPLE_PARAMETERS, **parameters, **PSEUDO_PARAMETERS}
    if stack_name is not None:
        values["AWS::StackName"] = stack_name
        values["AWS::StackId"] = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack_name}/1"
    translated: dict[str, Any] = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        # Only its region is read: SAM makes no AWS call when the managed policy map is given.
        boto_session=boto3.session.Session(region_name=PSEUDO_PARAMETERS["AWS::Region"]),
    ).translate(sam_template=template, parameter_values=values, get_managed_policy_map=dict)
    return translated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--stack-name", default=None, help="AWS::StackName (default callback-requests)")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.parameter)
    translated = translate(args.template.read_text(encoding="utf-8"), overrides, args.stack_name)
    json.dump(translated, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
