"""What the local stack needs from template.yaml, read from the template itself.

Routes, throttling, binary media types, handlers, memory, timeouts, environment variables and the
stream's event source mapping all come from here, so the local stack follows the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.provision import TEMPLATE, load_template, resource_of_type

REPO_ROOT = TEMPLATE.parent


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, Any]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    function: str


@dataclass(frozen=True)
class ApiSpec:
    stage: str
    binary_media_types: tuple[str, ...]
    rate_limit: float
    burst_limit: int
    routes: tuple[ApiRoute, ...]


@dataclass(frozen=True)
class StreamSourceSpec:
    function: str
    batch_size: int
    filter_patterns: tuple[str, ...]
    maximum_retry_attempts: int
    bisect_on_error: bool
    report_batch_item_failures: bool


def resolve(value: Any, refs: dict[str, str]) -> str:
    """A template value as a string: a literal, or a ``!Ref`` to a parameter or a resource."""
    if isinstance(value, dict):
        if set(value) != {"Ref"}:
            raise ValueError(f"the local stack cannot resolve {value!r} from template.yaml")
        name = value["Ref"]
        if name in refs:
            return refs[name]
        default = load_template()["Parameters"].get(name, {}).get("Default")
        if default is None:
            raise ValueError(f"no local value for !Ref {name} in template.yaml")
        return str(default)
    return str(value).lower() if isinstance(value, bool) else str(value)


def functions_dir() -> Path:
    """The functions' CodeUri: the directory Lambda puts on the import path."""
    return REPO_ROOT / str(load_template()["Globals"]["Function"]["CodeUri"])


def _functions() -> dict[str, dict[str, Any]]:
    return {
        logical_id: definition["Properties"]
        for logical_id, definition in load_template()["Resources"].items()
        if definition["Type"] == "AWS::Serverless::Function"
    }


def function_specs() -> dict[str, FunctionSpec]:
    defaults = load_template()["Globals"]["Function"]
    global_env = defaults.get("Environment", {}).get("Variables", {})
    return {
        logical_id: FunctionSpec(
            logical_id=logical_id,
            handler=props["Handler"],
            memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            timeout_s=int(props.get("Timeout", defaults.get("Timeout", 3))),
            environment={**global_env, **props.get("Environment", {}).get("Variables", {})},
        )
        for logical_id, props in _functions().items()
    }


def _number(value: Any) -> float:
    return float(resolve(value, {}))


def api_spec() -> ApiSpec:
    api_id, api = resource_of_type("AWS::Serverless::Api")
    props = api["Properties"]
    # ~1 is JSON Pointer's escape of "/", as API Gateway spells binary media types.
    binary = tuple(t.replace("~1", "/").replace("~0", "~").lower() for t in props.get("BinaryMediaTypes", []))
    throttled = [s for s in props.get("MethodSettings", []) if "ThrottlingRateLimit" in s]
    rate = _number(throttled[0]["ThrottlingRateLimit"]) if throttled else 10000.0
    burst = int(_number(throttled[0]["ThrottlingBurstLimit"])) if throttled else 5000
    routes = tuple(
        ApiRoute(
            method=event["Properties"]["Method"].upper(), path=event["Properties"]["Path"], function=name
        )
        for name, props_ in _functions().items()
        for event in props_.get("Events", {}).values()
        if event["Type"] == "Api" and event["Properties"].get("RestApiId", {}).get("Ref") == api_id
    )
    return ApiSpec(
        stage=props["StageName"], binary_media_types=binary, rate_limit=rate, burst_limit=burst, routes=routes
    )


def stream_source_spec() -> StreamSourceSpec:
    """The one DynamoDB event source mapping of the template (the notifier's)."""
    found = [
        (name, event["Properties"])
        for name, props in _functions().items()
        for event in props.get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    ]
    if len(found) != 1:
        raise LookupError(f"expected one DynamoDB event source in template.yaml, found {len(found)}")
    function, props = found[0]
    return StreamSourceSpec(
        function=function,
        batch_size=int(props.get("BatchSize", 100)),
        filter_patterns=tuple(f["Pattern"] for f in props.get("FilterCriteria", {}).get("Filters", [])),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
    )
