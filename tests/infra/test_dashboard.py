"""The CloudWatch dashboard (template.yaml's ``Dashboard``): it charts what the code emits, as emitted.

CloudWatch draws nothing for a metric whose name or dimensions differ by a letter, and cannot run
locally (moto keeps a dashboard's body but renders nothing), so these tests are what checks it. The
body is read as CloudFormation's ``!Sub`` will write it (placeholders resolved to stand-ins); the
metrics the code emits are read from functions/callbacks/ with ``ast``, never listed by hand.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from callbacks.core.observability import METRICS_NAMESPACE
from infra.provision import load_template

ROOT = Path(__file__).resolve().parents[2]
CODE = ROOT / "functions" / "callbacks"
RUNBOOK = ROOT / "docs" / "operations.md"  # the dashboard and the alarms, moved from the README
# Resolved as for a second stack beside the live one: every graph must read this stack's own
# functions (service=<its name>), never a name written into the template.
PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::StackName": "callback-requests-staging"}
OWN_SERVICE = PSEUDO_PARAMETERS["AWS::StackName"]
# Emitted, and left off the dashboard on purpose: what each tells a person is not worth a graph.
NOT_CHARTED = {
    "StaffAlertSkipped": "a redelivered record found already emailed: the dedupe working, not news",
    "StaffAlertClaimedElsewhere": "another invocation holds the alert's claim: the normal race, not news",
    "PhoneAreaCodeUnknown": "the phone library's data is behind (one line per area code); a log search",
}
# Powertools' single_metric and add_dimension are the helper's own business; elsewhere they would
# emit a metric this collector cannot name, or change the dimensions of every metric after it.
HELPER = ("observability.py", "count_by_dimension")


@dataclass(frozen=True)
class Emitted:
    name: str
    dimensions: frozenset[str]  # always "service"; count_by_dimension adds its one dimension
    where: str


@dataclass(frozen=True)
class Charted:
    widget: str
    namespace: str
    name: str
    # A plain metric names each dimension's value; a SEARCH names the dimensions only (value None).
    dimensions: tuple[tuple[str, str | None], ...]
    stat: str
    search: bool

    @property
    def dimension_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.dimensions)


# --- What the code emits -------------------------------------------------------------------------


def _string_dicts(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level dicts of string literals (``DELIVERY_METRICS``): a metric name may come from one."""
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            values = [_literal(v) for v in node.value.values]
            strings = [v for v in values if v is not None]
            if strings and len(strings) == len(values):
                found |= {target.id: strings for target in node.targets if isinstance(target, ast.Name)}
    return found


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def emitted_in(source: str, filename: str) -> tuple[list[Emitted], list[str]]:
    """The metrics ``source`` emits, and every emitting call whose metric name cannot be read."""
    tree = ast.parse(source, filename)
    dicts = _string_dicts(tree)
    emitted: list[Emitted] = []
    unreadable: list[str] = []
    helper_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (Path(filename).name, node.name) == HELPER:
            helper_lines |= {n.lineno for n in ast.walk(node) if hasattr(n, "lineno")}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called, where = _called(node), f"{filename}:{node.lineno}"
        if called == "add_metric":
            keywords = {k.arg: k.value for k in node.keywords}
            name_node = keywords.get("name", node.args[0] if node.args else None)
            if (name := _literal(name_node)) is not None:
                emitted.append(Emitted(name, frozenset({"service"}), where))
            elif (
                isinstance(name_node, ast.Subscript)
                and isinstance(name_node.value, ast.Name)
                and name_node.value.id in dicts
            ):
                emitted += [Emitted(n, frozenset({"service"}), where) for n in dicts[name_node.value.id]]
            elif node.lineno not in helper_lines:
                unreadable.append(f"{where}: add_metric(name=...) is not a literal or a dict of literals")
        elif called == "count_by_dimension":
            name, dimension = (_literal(node.args[i]) if len(node.args) > i else None for i in (0, 1))
            if name is None or dimension is None:
                unreadable.append(f"{where}: count_by_dimension's name and dimension must be literals")
            else:
                emitted.append(Emitted(name, frozenset({"service", dimension}), where))
        elif called in ("single_metric", "add_dimension", "set_default_dimensions", "Metrics"):
            # The one Metrics object is observability.py's; the rest belong to the helper alone.
            allowed = called == "Metrics" and Path(filename).name == HELPER[0]
            if node.lineno not in helper_lines and not allowed:
                unreadable.append(f"{where}: {called}(...) outside {HELPER[1]}: chart it how?")
    return emitted, unreadable


@pytest.fixture(scope="module")
def emitted() -> dict[str, set[frozenset[str]]]:
    found: dict[str, set[frozenset[str]]] = {}
    unreadable: list[str] = []
    for path in sorted(CODE.rglob("*.py")):
        metrics, problems = emitted_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
        unreadable += problems
        for metric in metrics:
            found.setdefault(metric.name, set()).add(metric.dimensions)
    assert not unreadable, "emitting calls this test cannot read:\n" + "\n".join(unreadable)
    return found


def test_given_each_way_the_code_emits_then_the_collector_reads_it_and_flags_any_other() -> None:
    source = """
DELIVERY = {"bounce": "Bounced", "complaint": "Complained"}
def f(kind, name):
    metrics.add_metric(name="Stored", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=DELIVERY[kind], unit=MetricUnit.Count, value=1)
    count_by_dimension("Rejected", "reason", kind)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    count_by_dimension(name, "reason", kind)
    metrics.add_dimension(name="tenant", value=kind)
    with single_metric(name="Other", unit="Count", value=1):
        pass
"""
    found, unreadable = emitted_in(source, "functions/callbacks/example.py")

    assert {(m.name, m.dimensions) for m in found} == {
        ("Stored", frozenset({"service"})),
        ("Bounced", frozenset({"service"})),
        ("Complained", frozenset({"service"})),
        ("Rejected", frozenset({"service", "reason"})),
    }
    assert [problem.split(": ", 1)[0] for problem in unreadable] == [
        f"functions/callbacks/example.py:{line}" for line in (7, 8, 9, 10)
    ]


# --- What the dashboard charts -------------------------------------------------------------------


def _resolve(text: str, resources: dict[str, Any], parameters: dict[str, Any]) -> str:
    """``text`` as ``!Sub`` writes it: ``${Res}`` -> ``<Res>``, ``${Res.Attr}`` -> ``<Res.Attr>``."""

    def stand_in(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):  # ${!Literal} is Sub's escape for a literal ${Literal}
            return "${" + name[1:] + "}"
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        logical_id = name.split(".", 1)[0]
        assert logical_id in {**resources, **parameters}, f"${{{name}}} names nothing in template.yaml"
        return f"<{name}>"

    return re.sub(r"\$\{([^}]*)\}", stand_in, text)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key given twice (the last one silently wins): {keys}"
    return dict(pairs)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    dashboards = [d for d in template["Resources"].values() if d["Type"] == "AWS::CloudWatch::Dashboard"]
    assert len(dashboards) == 1, "template.yaml has one dashboard"
    definition: dict[str, Any] = dashboards[0]
    return definition


@pytest.fixture(scope="module")
def body_text(template: dict[str, Any], dashboard: dict[str, Any]) -> str:
    body = dashboard["Properties"]["DashboardBody"]
    assert set(body) == {"Fn::Sub"}, "DashboardBody: !Sub over a JSON string"
    assert isinstance(body["Fn::Sub"], str), "DashboardBody: !Sub over a JSON string, no variable map"
    return _resolve(body["Fn::Sub"], template["Resources"], template["Parameters"])


@pytest.fixture(scope="module")
def body(body_text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body_text, object_pairs_hook=_no_duplicate_keys)
    return parsed


SEARCH = re.compile(r"""^SEARCH\('\{([^}]*)\} MetricName="(\w+)" service="([^"]+)"', '(\w+)', (\d+)\)$""")


def _entries(widget: dict[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    for entry in widget["properties"]["metrics"]:
        options = entry[-1] if isinstance(entry[-1], dict) else {}
        yield entry, options


def charted_in(body: dict[str, Any]) -> list[Charted]:
    """Every metric the dashboard's graphs name, plain or through a SEARCH expression."""
    charted: list[Charted] = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        properties = widget["properties"]
        title = properties["title"]
        ids = {options["id"] for _, options in _entries(widget) if "id" in options}
        for entry, options in _entries(widget):
            if "expression" in options:
                assert len(entry) == 1, f"{title}: an expression is an entry of its own"
                expression = options["expression"]
                if "SEARCH(" in expression:
                    match = SEARCH.match(expression)
                    assert match, f"{title}: a SEARCH this test cannot read: {expression}"
                    namespace, *dimensions = match.group(1).split(",")
                    # The service by its value (the search's exact term), the others by name only.
                    by_name = tuple((d, match.group(3) if d == "service" else None) for d in dimensions)
                    charted.append(Charted(title, namespace, match.group(2), by_name, match.group(4), True))
                else:
                    # Math on other entries: each id it names must be one of this widget's.
                    names = set(re.findall(r"\b[a-z]\w*\b", expression))
                    assert names, f"{title}: {expression} charts no metric"
                    assert names <= ids, f"{title}: {expression} names ids not in the widget"
                continue
            strings = entry[:-1] if options or isinstance(entry[-1], dict) else entry
            # CloudWatch's "." and "..." shorthands repeat the entry above: written out, this test reads it.
            assert all(isinstance(s, str) and s not in (".", "...") for s in strings), f"{title}: {entry}"
            assert len(strings) >= 2, f"{title}: namespace and name first: {entry}"
            assert len(strings) % 2 == 0, f"{title}: then name-value pairs: {entry}"
            namespace, name, *pairs = strings
            dimensions = tuple(zip(pairs[::2], pairs[1::2], strict=True))
            stat = options.get("stat", properties.get("stat", "Average"))
            charted.append(Charted(title, namespace, name, dimensions, stat, False))
    return charted


@pytest.fixture(scope="module")
def charted(body: dict[str, Any]) -> list[Charted]:
    found = charted_in(body)
    assert found, "the dashboard charts no metric"
    return found


def _custom(charted: list[Charted]) -> list[Charted]:
    return [c for c in charted if not c.namespace.startswith("AWS/")]


def test_given_the_dashboard_body_then_it_is_json_cloudwatch_takes(
    body_text: str, body: dict[str, Any]
) -> None:
    widgets = body["widgets"]

    assert "${" not in body_text.replace("${PROP(", ""), "a placeholder !Sub would leave unresolved"
    # CloudWatch: at most 500 widgets, 100 metrics a graph; a small body keeps the template small.
    assert 0 < len(widgets) <= 50
    assert len(body_text.encode()) < 64_000
    taken: set[tuple[int, int]] = set()
    for widget in widgets:
        title = widget["properties"].get("title", widget["type"])
        x, y, width, height = (widget[k] for k in ("x", "y", "width", "height"))
        # A 24-column grid; overlapping widgets are moved about by the console, not drawn as written.
        assert x >= 0, title
        assert y >= 0, title
        assert width >= 1, title
        assert height >= 1, title
        assert x + width <= 24, title
        cells = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
        assert not cells & taken, f"{title} overlaps another widget"
        taken |= cells
        if widget["type"] == "metric":
            properties = widget["properties"]
            assert properties["region"] == PSEUDO_PARAMETERS["AWS::Region"], title
            assert 1 <= len(properties["metrics"]) <= 100, title
            periods = [properties.get("period", 300)] + [o.get("period", 300) for _, o in _entries(widget)]
            assert all(p % 60 == 0 for p in periods), title


def test_given_the_top_of_the_dashboard_then_a_text_says_what_it_is_and_where_the_runbook_is(
    body: dict[str, Any],
) -> None:
    (top,) = [w for w in body["widgets"] if w["y"] == 0]
    text = top["properties"]["markdown"]

    assert top["type"] == "text"
    assert top["width"] == 24
    assert f"Call-back requests: {PSEUDO_PARAMETERS['AWS::StackName']}" in text
    # The runbook's own headings, so a reader finds it, and the section, by name.
    assert "docs/operations.md" in text
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.MULTILINE)
    for heading in ("The dashboard", "Alarms: what each one means and what to do"):
        assert f"**{heading}**" in text
        assert heading in headings, f"docs/operations.md has no heading {heading!r}"


def test_given_each_custom_metric_on_the_dashboard_then_the_code_emits_it_by_that_name(
    charted: list[Charted], emitted: dict[str, set[frozenset[str]]]
) -> None:
    unknown = {f"{c.name} ({c.widget})" for c in _custom(charted) if c.name not in emitted}

    assert {c.namespace for c in _custom(charted)} == {METRICS_NAMESPACE}
    assert not unknown, f"charted, but no code under functions/callbacks emits: {sorted(unknown)}"


def test_given_each_custom_metric_on_the_dashboard_then_it_has_the_codes_dimensions_exactly(
    template: dict[str, Any], charted: list[Charted], emitted: dict[str, set[frozenset[str]]]
) -> None:
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    wrong: list[str] = []

    # The code's service is POWERTOOLS_SERVICE_NAME, which the template makes the stack's name.
    assert environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE
    for metric in _custom(charted):
        where = f"{metric.name} ({metric.widget})"
        as_emitted = emitted.get(metric.name, set())
        if not as_emitted:
            continue  # not emitted at all: the test before says so
        if len(as_emitted) > 1:
            wrong.append(f"{where}: emitted with {len(as_emitted)} sets of dimensions, one graph shows one")
            continue
        (dimensions,) = as_emitted
        by = sorted(dimensions - {"service"})
        if metric.dimension_names != dimensions:
            wrong.append(
                f"{where}: charted by {sorted(metric.dimension_names)}, emitted by {sorted(dimensions)}"
            )
        elif dict(metric.dimensions)["service"] != OWN_SERVICE:
            wrong.append(
                f"{where}: service={dict(metric.dimensions)['service']}, not this stack's {OWN_SERVICE}"
            )
        elif not by and (metric.search or dict(metric.dimensions) != {"service": OWN_SERVICE}):
            wrong.append(
                f"{where}: {dict(metric.dimensions)}, emitted as a plain metric with service={OWN_SERVICE}"
            )
        elif by and not metric.search:
            # One fixed value (reason=origin_not_allowed) would hide every other reason.
            wrong.append(f"{where}: emitted by {by}, so a SEARCH draws a line for each value")
    assert not wrong, "\n".join(wrong)


def test_given_every_metric_the_code_emits_then_it_is_charted_or_left_off_with_a_reason(
    charted: list[Charted], emitted: dict[str, set[frozenset[str]]]
) -> None:
    on_dashboard = {c.name for c in _custom(charted)}
    unplaced = set(emitted) - on_dashboard - set(NOT_CHARTED)

    assert not unplaced, (
        f"emitted, not on the dashboard: chart them or add them to NOT_CHARTED: {sorted(unplaced)}"
    )
    # Keeps the list honest: gone from the code, or charted after all, then off NOT_CHARTED.
    assert set(NOT_CHARTED) <= set(emitted), set(NOT_CHARTED) - set(emitted)
    assert not set(NOT_CHARTED) & on_dashboard


def test_given_the_issue_then_the_dashboard_charts_requests_refusals_spam_alerts_and_call_back_time(
    charted: list[Charted],
) -> None:
    custom = _custom(charted)

    def stats(name: str, search: bool = False) -> set[str]:
        return {c.stat for c in custom if c.name == name and c.search is search}

    assert "Sum" in stats("CallbackRequestStored")
    assert "Sum" in stats("CallbackRequestRejected", search=True)
    assert "Sum" in stats("SpamCaught", search=True)
    assert "Sum" in stats("StaffAlertSent")
    assert "Sum" in stats("StaffAlertFailed")
    assert {"p50", "p90"} <= stats("TimeToCallbackMinutes")
    # 1 when called by the deadline, 0 when not: the average is the share on time.
    assert "Average" in stats("CalledByDeadline")


def test_given_each_function_in_the_template_then_its_errors_duration_and_throttles_are_charted(
    template: dict[str, Any], charted: list[Charted]
) -> None:
    functions = [
        logical_id
        for logical_id, definition in template["Resources"].items()
        if definition["Type"] == "AWS::Serverless::Function"
    ]
    lambda_metrics = {
        (c.name, dict(c.dimensions)["FunctionName"]): c.stat for c in charted if c.namespace == "AWS/Lambda"
    }
    missing = [
        f"{function}: {metric} is not charted; add "
        f'["AWS/Lambda", "{metric}", "FunctionName", "${{{function}}}"] to the dashboard\'s {metric} widget'
        for function in functions
        for metric in ("Errors", "Duration", "Throttles")
        if (metric, f"<{function}>") not in lambda_metrics
    ]

    assert functions
    assert not missing, "\n".join(missing)
    for (metric, function), stat in lambda_metrics.items():
        assert (function or "").strip("<>") in functions, (
            f"{metric} of {function}: not a function of the template"
        )
        if metric in ("Errors", "Throttles"):
            assert stat == "Sum", (metric, function)


def test_given_the_dead_letter_queue_then_its_depth_is_charted(
    template: dict[str, Any], charted: list[Charted]
) -> None:
    queues = [
        c for c in charted if (c.namespace, c.name) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    ]
    stream = template["Resources"]["NotifyFunction"]["Properties"]["Events"]["NewCallbackRequest"]
    destination = stream["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]

    # The queue the stream's failures go to, by the name CloudWatch files its metrics under.
    assert destination == {"Fn::GetAtt": ["StaffAlertDeadLetterQueue", "Arn"]}
    assert [(dict(c.dimensions), c.stat) for c in queues] == [
        ({"QueueName": "<StaffAlertDeadLetterQueue.QueueName>"}, "Maximum")
    ]


def test_given_the_api_then_its_graphs_name_its_one_stage(
    template: dict[str, Any], charted: list[Charted]
) -> None:
    api = template["Resources"]["CallbackApi"]["Properties"]
    name = _resolve(api["Name"]["Fn::Sub"], template["Resources"], template["Parameters"])
    graphs = [c for c in charted if c.namespace == "AWS/ApiGateway"]

    assert {c.name for c in graphs} >= {"4XXError", "5XXError", "Latency"}
    # CloudWatch files a REST API's metrics under its name and stage.
    assert {c.dimensions for c in graphs} == {(("ApiName", name), ("Stage", api["StageName"]))}


def test_given_the_stack_outputs_then_dashboard_url_opens_this_dashboard_in_the_console(
    template: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    (logical_id,) = [k for k, d in template["Resources"].items() if d is dashboard]
    output = template["Outputs"]["DashboardUrl"]["Value"]
    url = urlsplit(_resolve(output["Fn::Sub"], template["Resources"], template["Parameters"]))
    name = _resolve(dashboard["Properties"]["DashboardName"]["Fn::Sub"], {}, {})

    assert url.scheme == "https"
    assert url.netloc == "us-east-1.console.aws.amazon.com"
    assert url.path == "/cloudwatch/home"
    assert parse_qs(url.query) == {"region": ["us-east-1"]}
    # Ref of a dashboard is its name; the console opens it by that name.
    assert url.fragment == f"dashboards/dashboard/<{logical_id}>"
    # Dashboards are global to the account: the region in the name keeps two regions' stacks apart.
    assert name == f"{OWN_SERVICE}-us-east-1"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name)
