"""One measured process of `make bench` (infra/tools/bench.py starts it; nothing else should).

It runs under the functions' Python with ``-I -S -B``: no site-packages, no environment paths, no
bytecode written, so that the only code it sees is the package tree and the runtime tree (boto3,
what Lambda's runtime provides) named on its command line, as in /var/task and /var/runtime. It
imports nothing of its own beyond ``sys``, ``time`` and ``json`` (which every measured process
imports anyway), so that it weighs the same beside each thing it measures.

    bench_child.py RESULT TREE RUNTIME import MODULE
    bench_child.py RESULT TREE RUNTIME exec CODE
    bench_child.py RESULT TREE RUNTIME ladder JSON-LIST-OF-CODE
    bench_child.py RESULT TREE RUNTIME invoke HANDLER EVENTS [WARM]
    bench_child.py RESULT -    RUNTIME floor TABLE

Each writes one JSON object to RESULT: stdout belongs to the handlers' logs and metrics.
"""

import sys
import time

START = time.perf_counter()


def _paths(tree: str, runtime: str) -> None:
    sys.path[:0] = [path for path in (tree, runtime) if path != "-"]


def _count_compiled(tree: str) -> list[str]:
    """Modules of ``tree`` compiled from source in this process: none when its bytecode is valid."""
    import importlib._bootstrap_external as external

    compiled: list[str] = []
    original = external.SourceLoader.source_to_code

    def counting(self, data, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).startswith(tree):
            compiled.append(str(path))
        return original(self, data, path, *args, **kwargs)

    external.SourceLoader.source_to_code = counting  # type: ignore[method-assign]
    return compiled


def _stub_aws(calls: dict[str, int], sdk: list[float], seen: list | None = None) -> None:  # type: ignore[type-arg]
    """Every botocore client answers at once, after its own request building and validation.

    ``before-call`` comes after botocore has validated and serialized the parameters and before
    it signs and sends, so only the network and AWS itself are left out. ``sdk`` collects the
    seconds spent inside each API call, to tell the SDK's share from the handler's own; ``seen``,
    if given, each call's name and parameters.
    """
    import botocore.client
    import botocore.session
    from botocore.awsrequest import AWSResponse

    answers = {"SendEmail": {"MessageId": "0100018c-bench-message"}}

    def answer(model, **_):  # type: ignore[no-untyped-def]
        calls[model.name] = calls.get(model.name, 0) + 1
        return AWSResponse("https://aws.invalid/", 200, {}, None), dict(answers.get(model.name, {}))

    def record(params, model, **_):  # type: ignore[no-untyped-def]
        seen.append((model.name, params))  # type: ignore[union-attr]

    create_client = botocore.session.Session.create_client

    def stubbed(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        client = create_client(self, *args, **kwargs)
        client.meta.events.register_first("before-call", answer)
        if seen is not None:
            client.meta.events.register("before-parameter-build", record)
        return client

    botocore.session.Session.create_client = stubbed  # type: ignore[method-assign]
    make_api_call = botocore.client.BaseClient._make_api_call

    def timed(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        begin = time.perf_counter()
        try:
            return make_api_call(self, *args, **kwargs)
        finally:
            sdk.append(time.perf_counter() - begin)

    botocore.client.BaseClient._make_api_call = timed  # type: ignore[method-assign]


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        # The notifier's timeout (template.yaml): it starts an alert only with time for its worst case.
        return 180_000


def _events(path: str) -> list:  # type: ignore[type-arg]
    import json

    with open(path, encoding="utf-8") as source:
        events: list = json.load(source)  # type: ignore[type-arg]
    return events


def _fresh(event: dict) -> dict:  # type: ignore[type-arg]
    """A stream record is new when it arrives: the notifier treats an old one as a redelivery."""
    for record in event.get("Records", []):
        if "dynamodb" in record:
            record["dynamodb"]["ApproximateCreationDateTime"] = time.time()
    return event


def _check(handler: str, answer: object) -> None:
    if isinstance(answer, dict):
        status = answer.get("statusCode")
        if status is not None and status not in (200, 201):
            raise SystemExit(f"{handler} answered {status}: {answer.get('body')}")
        if answer.get("batchItemFailures"):
            raise SystemExit(f"{handler} failed records: {answer['batchItemFailures']}")


def _quiet() -> None:
    """Handlers log to stdout: keep the lines written (their cost is part of a request), unseen."""
    import os

    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)


def _import(tree: str, module: str) -> dict:  # type: ignore[type-arg]
    compiled = _count_compiled(tree)
    begin = time.perf_counter()
    __import__(module)
    elapsed = time.perf_counter() - begin
    return {"ms": elapsed * 1000, "modules": len(sys.modules), "compiled_from_source": len(compiled)}


def _exec(code: str) -> dict:  # type: ignore[type-arg]
    begin = time.perf_counter()
    exec(code, {})  # noqa: S102 - the benchmark's own statements (bench.py IMPORTS)
    return {"ms": (time.perf_counter() - begin) * 1000, "modules": len(sys.modules)}


def _ladder(steps_json: str) -> dict:  # type: ignore[type-arg]
    """Statements run one after another in one namespace: what each adds to what came before."""
    import json

    steps = json.loads(steps_json)
    namespace: dict = {}  # type: ignore[type-arg]
    costs = []
    for code in steps:
        begin = time.perf_counter()
        exec(code, namespace)  # noqa: S102 - the benchmark's own statements (bench.py LADDER)
        costs.append((time.perf_counter() - begin) * 1000)
    return {"ms": costs}


def _invoke(tree: str, handler: str, events_path: str, warm: int) -> dict:  # type: ignore[type-arg]
    module, function = handler.rsplit(".", 1)
    compiled = _count_compiled(tree)
    begin = time.perf_counter()
    entry = getattr(__import__(module, fromlist=[function]), function)
    imported = time.perf_counter()
    events = _events(events_path)
    calls: dict[str, int] = {}
    sdk: list[float] = []
    _stub_aws(calls, sdk)
    _check(handler, entry(_fresh(events[0]), _Context()))
    first = time.perf_counter()
    result = {
        "import_ms": (imported - begin) * 1000,
        "first_request_ms": (first - imported) * 1000,
        "calls": dict(calls),
        "compiled_from_source": len(compiled),
    }
    if warm:
        _quiet()
        total: list[float] = []
        own: list[float] = []
        for number in range(warm):
            event = _fresh(events[1 + number % (len(events) - 1)])
            sdk.clear()
            begin = time.perf_counter()
            answer = entry(event, _Context())
            elapsed = time.perf_counter() - begin
            _check(handler, answer)
            total.append(elapsed * 1000)
            own.append((elapsed - sum(sdk)) * 1000)
        result["warm_ms"] = total
        result["warm_own_ms"] = own
    return result


def _floor(table: str) -> dict:  # type: ignore[type-arg]
    """What every function pays anyway: boto3, one client configured as ours are, one call."""
    calls: dict[str, int] = {}
    _stub_aws(calls, [])
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})
    client = boto3.session.Session().client("dynamodb", config=config)
    client.put_item(TableName=table, Item={"pk": {"S": "request#floor"}})
    return {"calls": calls}


def main() -> None:
    result_path, tree, runtime, mode, *args = sys.argv[1:]
    _paths(tree, runtime)
    if mode == "import":
        result = _import(tree, args[0])
    elif mode == "exec":
        result = _exec(args[0])
    elif mode == "ladder":
        result = _ladder(args[0])
    elif mode == "invoke":
        result = _invoke(tree, args[0], args[1], int(args[2]) if len(args) > 2 else 0)
    elif mode == "floor":
        result = _floor(args[0])
    else:
        raise SystemExit(f"unknown mode {mode}")
    result["process_ms"] = (time.perf_counter() - START) * 1000
    import json

    with open(result_path, "w", encoding="utf-8") as sink:
        json.dump(result, sink)


if __name__ == "__main__":
    main()
