"""The README's SAM CLI section, run as written: `make sam-local`, then its `sam local invoke` and curl lines.

The lines are parsed out of README.md, so the README cannot drift from what runs. Each line's answer
is checked against what the README says a developer sees there, side effects in moto included.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.sam.conftest import (
    ENV_VARS,
    MOTO_PORT,
    ROOT,
    TIMINGS,
    Background,
    LocalAws,
    developer_env,
    free_port,
    load_event,
    port_answers,
    run,
    sam_containers,
    wait_for,
)

SECTION = "## Testing with the SAM CLI"
SAM_API_PORT = 3001  # the port the README's curl lines name (make sam-local's default)
PAGE_ORIGIN = "http://localhost:3000"  # the origin the README's curl lines send, allowed by the env-vars file
STREAM_REQUEST_ID = load_event("stream-insert")["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
EMAIL_DEADLINE_S = 20.0


def readme_commands() -> list[str]:
    """The shell commands of the README's SAM CLI section, continuation lines joined, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            command = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            if command:
                commands.append(command)
    return commands


def test_the_readme_section_has_the_commands_this_module_runs() -> None:
    commands = readme_commands()
    assert "make sam-local" in commands
    events = [shlex.split(c)[shlex.split(c).index("-e") + 1] for c in commands if " local invoke " in c]
    assert events == [
        "infra/events/post-json.json",
        "infra/events/post-form.json",
        "infra/events/post-multipart.json",
        "infra/events/preflight.json",
        "infra/events/stream-insert.json",
    ]
    assert sum(c.startswith("curl ") for c in commands) == 2


@dataclass(frozen=True)
class SamLocal:
    aws: LocalAws


@pytest.fixture(scope="module")
def sam_local(lambda_image: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamLocal]:
    """`make sam-local` as the README says, its local stack's own API on a free port."""
    if port_answers(SAM_API_PORT):
        pytest.fail(f"port {SAM_API_PORT} (the README's sam local start-api) is taken on this machine")
    started = time.monotonic()
    session = Background(
        "make sam-local",
        tmp_path_factory.mktemp("sam-local") / "make-sam-local.log",
        env=developer_env(LOCAL_API_PORT=str(free_port())),
    ).start()
    session.wait_for_output("sam local start-api on", timeout=600)
    session.wait_for_port(SAM_API_PORT)
    TIMINGS["make sam-local: ready (engine and image already here)"] = time.monotonic() - started
    bridge = run(
        [str(ROOT / "infra" / "sam" / "engine.sh"), "bridge"], 30, "bridge address", timed=False
    ).stdout.strip()
    yield SamLocal(LocalAws(f"http://{bridge}:{MOTO_PORT}"))
    session.stop(signal.SIGINT)  # Ctrl-C, as the README says
    assert sam_containers() == [], "make sam-local left SAM CLI's containers running"


def sam_answer(stdout: str) -> dict[str, object]:
    """`sam local invoke` prints the function's answer as the last line of its standard output."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "sam local invoke printed no answer"
    answer: dict[str, object] = json.loads(lines[-1])
    return answer


def http_answer(curl_output: str) -> tuple[int, dict[str, str], str]:
    """Status, headers (lower-case names) and body of what `curl -si` printed."""
    head, _, body = curl_output.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def emails_about(aws: LocalAws, request_id: str) -> list[dict[str, object]]:
    return [email for email in aws.emails() if request_id[:8].upper() in str(email["subject"])]


def test_readme_sam_local_invoke_lines_answer_as_the_readme_says(sam_local: SamLocal) -> None:
    aws = sam_local.aws
    answers: dict[str, dict[str, object]] = {}
    for command in readme_commands():
        if " local invoke " not in command:
            continue
        event = shlex.split(command)[shlex.split(command).index("-e") + 1].removeprefix("infra/events/")
        done = run(command, 300, f"README: sam local invoke ... {event}", shell=True)
        answers[event] = sam_answer(done.stdout)

    stored = answers["post-json.json"]
    assert stored["statusCode"] == 201, stored
    request_id = json.loads(str(stored["body"]))["id"]
    assert aws.stored(request_id) is not None, "the README's JSON post is not in moto's table"

    form = answers["post-form.json"]
    assert form["statusCode"] == 303, form
    assert form["multiValueHeaders"]["Location"] == [ENV_VARS["IntakeFunction"]["THANK_YOU_URL"]]  # type: ignore[index]

    multipart = answers["post-multipart.json"]
    assert multipart["statusCode"] == 200, multipart  # the same request again: its duplicate
    assert json.loads(str(multipart["body"]))["id"] == request_id

    preflight = answers["preflight.json"]
    assert preflight["statusCode"] == 204, preflight
    assert preflight["multiValueHeaders"]["Access-Control-Allow-Origin"] == [  # type: ignore[index]
        "https://www.accentplasticsurgery.example"
    ]

    assert answers["stream-insert.json"] == {"batchItemFailures": []}
    assert len(emails_about(aws, STREAM_REQUEST_ID)) == 1, "the stream sample's email is not in moto's SES"


def test_readme_curl_lines_reach_sam_local_start_api(sam_local: SamLocal) -> None:
    aws = sam_local.aws
    post, preflight = (c for c in readme_commands() if c.startswith("curl "))

    status, headers, body = http_answer(
        run(post, 120, "README: curl POST to sam local start-api", shell=True).stdout
    )
    assert status == 201, (status, headers, body)
    assert headers.get("access-control-allow-origin") == PAGE_ORIGIN, headers
    request_id = json.loads(body)["id"]
    assert aws.stored(request_id) is not None, "the curl POST is not in moto's table"
    # make sam-local's local stack feeds the table's stream to the notifier: the office is emailed.
    wait_for(
        lambda: len(emails_about(aws, request_id)) == 1,
        EMAIL_DEADLINE_S,
        "the stored request's email in moto's SES",
        lambda: None,
    )

    status, headers, body = http_answer(
        run(preflight, 120, "README: curl preflight to sam local start-api", shell=True).stdout
    )
    assert status == 204, (status, headers, body)
    assert headers.get("access-control-allow-origin") == PAGE_ORIGIN, headers
    assert "POST" in headers.get("access-control-allow-methods", ""), headers
    assert "idempotency-key" in headers.get("access-control-allow-headers", "").lower(), headers
