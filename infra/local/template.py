"""What the local stack needs from template.yaml, read from the template itself.

Routes, throttling, binary media types, gateway responses, handlers, memory, timeouts, environment
variables, the stream's event source mapping and the schedules all come from here, so the local
stack follows the template (no handler's module path is written anywhere else).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.schedules import Schedule
from infra.provision import TEMPLATE, load_template, resource_of_type, resources_of_type

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
    gateway_responses: dict[str, dict[str, Any]]  # as the template writes them, by response type


@dataclass(frozen=True)
class StreamSourceSpec:
    function: str
    batch_size: int
    filter_patterns: tuple[str, ...]
    maximum_retry_attempts: int
    bisect_on_error: bool
    report_batch_item_failures: bool


def resolve(value: Any, refs: dict[str, str] | None = None) -> str:
    """A template value as a string: a literal, or a ``!Ref`` to ``refs``, else to a parameter's default."""
    if not isinstance(value, dict):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if set(value) != {"Ref"}:
        raise ValueError(f"the local stack cannot resolve {value!r} from template.yaml")
    name = value["Ref"]
    found = (refs or {}).get(name, load_template()["Parameters"].get(name, {}).get("Default"))
    if found is None:
        raise ValueError(f"no local value for !Ref {name} in template.yaml")
    return str(found)


def functions_dir() -> Path:
    """The functions' CodeUri: the directory Lambda puts on the import path."""
    return REPO_ROOT / str(load_template()["Globals"]["Function"]["CodeUri"])


def function_specs() -> dict[str, FunctionSpec]:
    defaults = load_template()["Globals"]["Function"]
    global_env = defaults.get("Environment", {}).get("Variables", {})
    specs = {}
    for logical_id, function in resources_of_type("AWS::Serverless::Function").items():
        props = function["Properties"]
        variables = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=props["Handler"],
            memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            timeout_s=int(props.get("Timeout", defaults.get("Timeout", 3))),
            # One set to AWS::NoValue is left out, as CloudFormation leaves it out.
            environment={k: v for k, v in variables.items() if v != {"Ref": "AWS::NoValue"}},
        )
    return specs


def _events(event_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function, the event's properties) for every event of ``event_type`` of the template's functions."""
    for name, function in resources_of_type("AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == event_type:
                yield name, event["Properties"]


def api_spec() -> ApiSpec:
    api_id, api = resource_of_type("AWS::Serverless::Api")
    props = api["Properties"]
    # Without method settings, API Gateway's account-level defaults (10,000 per second, 5,000 burst).
    throttling = next((s for s in props.get("MethodSettings", []) if "ThrottlingRateLimit" in s), {})
    return ApiSpec(
        stage=props["StageName"],
        # ~1 is JSON Pointer's escape of "/", as API Gateway spells binary media types.
        binary_media_types=tuple(
            t.replace("~1", "/").replace("~0", "~").lower() for t in props.get("BinaryMediaTypes", [])
        ),
        rate_limit=float(resolve(throttling.get("ThrottlingRateLimit", 10000), {})),
        burst_limit=int(float(resolve(throttling.get("ThrottlingBurstLimit", 5000)))),
        routes=tuple(
            ApiRoute(method=event["Method"].upper(), path=event["Path"], function=name)
            for name, event in _events("Api")
            if event.get("RestApiId", {}).get("Ref") == api_id
        ),
        gateway_responses=props.get("GatewayResponses"),
    )


def stream_source_spec() -> StreamSourceSpec:
    """The one DynamoDB event source mapping of the template (the notifier's)."""
    found = list(_events("DynamoDB"))
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


def schedule_specs() -> list[Schedule]:
    """The template's ScheduleV2 events (EventBridge Scheduler), for the local scheduler."""
    return [
        Schedule(
            function=name,
            expression=resolve(event["ScheduleExpression"]),
            time_zone=resolve(event.get("ScheduleExpressionTimezone", "UTC")),
            input=str(event.get("Input", "{}")),
        )
        for name, event in _events("ScheduleV2")
    ]
