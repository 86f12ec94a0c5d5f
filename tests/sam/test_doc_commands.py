"""docs/local.md's SAM CLI section, run as written: `make sam-local`, its `sam local invoke` and curl lines.

The lines are parsed out of docs/local.md (where the README's SAM CLI guide moved), so the guide cannot
drift from what runs. Each line's answer is checked against what the guide says a developer sees
there, side effects in moto included.
"""

from __future__ import annotations

import json
import re
import shlex
from concurrent.futures import ThreadPoolExecutor

from tests.sam.conftest import (
    ENV_VARS,
    ROOT,
    LocalAws,
    load_event,
    run,
    wait_for,
)

GUIDE = ROOT / "docs" / "local.md"
SECTION = "## Testing with the SAM CLI"
PAGE_ORIGIN = "http://localhost:3000"  # the origin the guide's curl lines send, allowed by the env-vars file
STREAM_REQUEST_ID = load_event("stream-insert")["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
EMAIL_DEADLINE_S = 20.0


def guide_commands() -> list[str]:
    """The shell commands of docs/local.md's SAM CLI section, continuation lines joined, comments dropped."""
    text = GUIDE.read_text(encoding="utf-8")
    assert SECTION in text, f"docs/local.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            command = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            if command:
                commands.append(command)
    return commands


def test_the_guide_section_has_the_commands_this_module_runs() -> None:
    commands = guide_commands()
    assert "make sam-local" in commands
    events = [event_of(command) for command in commands if " local invoke " in command]
    assert events == [
        "post-json.json",
        "post-form.json",
        "post-multipart.json",
        "preflight.json",
        "stream-insert.json",
        "sweep-schedule.json",
        "digest-schedule.json",
        "summary-schedule.json",
    ]
    assert sum(c.startswith("curl ") for c in commands) == 2


def event_of(command: str) -> str:
    words = shlex.split(command)
    return words[words.index("-e") + 1].removeprefix("infra/events/")


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


def test_guide_sam_local_invoke_lines_answer_as_the_guide_says(local_aws: LocalAws) -> None:
    aws = local_aws
    invokes = {event_of(command): command for command in guide_commands() if " local invoke " in command}

    def invoke(event: str) -> dict[str, object]:
        return sam_answer(
            run(invokes[event], 300, f"docs/local.md: sam local invoke ... {event}", shell=True).stdout
        )

    emails_before = len(emails_about(aws, STREAM_REQUEST_ID))
    aws.store_stream_sample()  # the stream sample's request, as the intake stores it before its INSERT
    # The JSON post first; the others repeat its request (or need nothing of it), so they may overlap.
    answers = {"post-json.json": invoke("post-json.json")}
    with ThreadPoolExecutor(max_workers=min(4, len(invokes))) as pool:
        answers.update(zip(list(invokes)[1:], pool.map(invoke, list(invokes)[1:]), strict=True))

    stored = answers["post-json.json"]
    assert stored["statusCode"] == 201, stored
    request_id = json.loads(str(stored["body"]))["id"]
    assert aws.stored(request_id) is not None, "the guide's JSON post is not in moto's table"

    form = answers["post-form.json"]
    assert form["statusCode"] == 303, form
    (location,) = form["multiValueHeaders"]["Location"]  # type: ignore[index]
    assert location.startswith(ENV_VARS["IntakeFunction"]["THANK_YOU_URL"] + "?ref=")  # the reference

    multipart = answers["post-multipart.json"]
    assert multipart["statusCode"] == 200, multipart  # the same request again: its duplicate
    assert json.loads(str(multipart["body"]))["id"] == request_id

    preflight = answers["preflight.json"]
    assert preflight["statusCode"] == 204, preflight
    assert preflight["multiValueHeaders"]["Access-Control-Allow-Origin"] == [  # type: ignore[index]
        "https://www.accentplasticsurgery.example"
    ]

    assert answers["stream-insert.json"] == {"batchItemFailures": []}
    # The SAM container or the local stack's poller, whichever claims it first: one email.
    assert len(aws.wait_for_emails_about(STREAM_REQUEST_ID, emails_before + 1)) == emails_before + 1

    sweep = answers["sweep-schedule.json"]
    assert "found" in sweep, sweep
    assert sweep["stopped"] is None, sweep
    assert isinstance(answers["digest-schedule.json"].get("listed"), int), answers["digest-schedule.json"]
    summary = answers["summary-schedule.json"]
    assert summary["week"] == "2026-11-23", summary
    assert isinstance(summary["received"], int), summary
    assert any(str(email["subject"]).startswith("Week of Nov 23 - 29, 2026: ") for email in aws.emails())


def test_guide_curl_lines_reach_sam_local_start_api(local_aws: LocalAws) -> None:
    aws = local_aws
    post, preflight = (c for c in guide_commands() if c.startswith("curl "))

    status, headers, body = http_answer(
        run(post, 120, "docs/local.md: curl POST to sam local start-api", shell=True).stdout
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
        run(preflight, 120, "docs/local.md: curl preflight to sam local start-api", shell=True).stdout
    )
    assert status == 204, (status, headers, body)
    assert headers.get("access-control-allow-origin") == PAGE_ORIGIN, headers
    assert "POST" in headers.get("access-control-allow-methods", ""), headers
    assert "idempotency-key" in headers.get("access-control-allow-headers", "").lower(), headers
