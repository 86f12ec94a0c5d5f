"""The values a translated template gives one stack, as CloudFormation would resolve them.

Parameters take the stack's values (else their defaults), pseudo parameters the stack's name and a
fixed account and region, and a resource's physical name is ``<stack>-<LogicalId>``, which is what
CloudFormation's generated names carry (the stack's name, the logical id, a random suffix): a name
made from a Ref to a resource of the stack is that stack's own. AWS::NoValue leaves its key out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
NO_VALUE = object()


@dataclass
class Stack:
    name: str
    template: dict[str, Any]
    parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.name}/1",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def parameter(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        return str(self.template["Parameters"][name]["Default"])

    def physical(self, logical_id: str) -> str:
        return f"{self.name}-{logical_id}"

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources this stack creates (those whose Condition holds for its parameters)."""
        return {
            logical_id: definition
            for logical_id, definition in self.template["Resources"].items()
            if "Condition" not in definition or self.condition(definition["Condition"])
        }

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.template["Resources"]:
            return self.physical(name)
        raise KeyError(f"Ref to {name}: no parameter or resource of that name")

    def value(self, value: Any) -> Any:
        """The value with every intrinsic function resolved for this stack."""
        if isinstance(value, list):
            return [item for item in (self.value(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Condition":
                return self.condition(argument)
            if function.startswith("Fn::"):
                return self._function(function, argument)
        resolved = {key: self.value(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, function: str, argument: Any) -> Any:  # noqa: PLR0911
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {name: self.value(v) for name, v in variables.items()})
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return f"{self.physical(logical_id)}.{attribute}"
        if function == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(str(item) for item in self.value(items))
        if function == "Fn::Split":
            delimiter, text = argument
            return str(self.value(text)).split(delimiter)
        if function == "Fn::Select":
            index, items = argument
            return self.value(items)[int(self.value(index))]
        if function == "Fn::If":
            name, when_true, when_false = argument
            return self.value(when_true if self.condition(name) else when_false)
        if function == "Fn::FindInMap":
            mapping, key, attribute = (self.value(part) for part in argument)
            return self.template["Mappings"][mapping][key][attribute]
        if function == "Fn::Equals":
            left, right = (self.value(part) for part in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.value(argument[0])
        if function == "Fn::And":
            return all(self.value(part) for part in argument)
        if function == "Fn::Or":
            return any(self.value(part) for part in argument)
        raise ValueError(f"{function} is not resolved here")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                logical_id, attribute = name.split(".", 1)
                return f"{self.physical(logical_id)}.{attribute}"
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)
