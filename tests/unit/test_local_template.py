"""The local stack reads template.yaml as SAM would, whatever shape its Resources take."""

from __future__ import annotations

from infra.local.template import REPO_ROOT, function_specs
from infra.provision import resource_of_type, resources_of_type

LOCAL_STACK = REPO_ROOT / "infra" / "local"


def test_an_fn_foreach_loop_among_the_resources_is_passed_over_not_read_as_one() -> None:
    # What AWS::LanguageExtensions allows: one loop writing a resource per function.
    loop = ["Name", ["Intake", "Notify"], {"${Name}FunctionLogs": {"Type": "AWS::Logs::LogGroup"}}]
    template = {"Resources": {"Table": {"Type": "AWS::DynamoDB::Table"}, "Fn::ForEach::Logs": loop}}

    assert resource_of_type("AWS::DynamoDB::Table", template)[0] == "Table"
    assert resources_of_type("AWS::Logs::LogGroup", template) == {}


def test_no_handler_module_path_is_written_in_the_local_stack_it_reads_them_all_from_the_template() -> None:
    modules = {spec.handler.rpartition(".")[0] for spec in function_specs().values()}
    sources = {path.name: path.read_text(encoding="utf-8") for path in LOCAL_STACK.glob("*.py")}

    assert modules
    assert [(name, module) for name, text in sources.items() for module in modules if module in text] == []
