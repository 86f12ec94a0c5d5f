"""The website form's assets (snippet, script, demo pages) agree with the API's models."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from callbacks.emails.layout import BEST_TIME_LABELS, INTEREST_LABELS
from callbacks.models.choices import BestTime
from callbacks.models.form import (
    CONSENT_TEXT,
    EMAIL_MAX,
    FIELD_MESSAGES,
    MESSAGE_MAX,
    NAME_MAX,
    PHONE_COST_MESSAGE,
    REQUIRED_MESSAGES,
    CallbackRequestIn,
)
from infra.local.server import assemble_page

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "functions" / "callbacks" / "static"
SITE = ROOT / "infra" / "local" / "site"
SNIPPET = STATIC / "embed-snippet.html"
SCRIPT = STATIC / "callback-form.js"
# Fingerprints of the practice's article, so the test needs neither the article nor a copy of it.
ARTICLE_FINGERPRINTS = Path(__file__).with_name("article-fingerprints.txt")
BLOCK = re.compile(r"<!-- callback-form:start.*?<!-- callback-form:end -->", re.DOTALL)
SCRIPT_BUDGET = 12 * 1024  # bytes, unminified: the form must stay a small script


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    ancestors: list[Element]
    text: str = ""
    children_text: list[str] = field(default_factory=list)


class _Collector(HTMLParser):
    """Every element with its attributes, ancestors and own text content."""

    VOID = frozenset({"input", "meta", "link", "br", "img", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


def parse(html: str) -> list[Element]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def squash(text: str) -> str:
    return " ".join(text.split())


def form_block(path: Path) -> str:
    match = BLOCK.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no callback-form block"
    return match.group(0)


def controls(html: str) -> dict[str, list[Element]]:
    found: dict[str, list[Element]] = {}
    for element in parse(html):
        if element.tag in ("input", "textarea", "select") and "name" in element.attrs:
            found.setdefault(element.attrs["name"], []).append(element)
    return found


def demo_page() -> str:
    """The demo page as the local stack serves it: the snippet included where it says."""
    return assemble_page((SITE / "index.html").read_bytes()).decode("utf-8")


@pytest.fixture(params=["embed-snippet.html", "index.html"])
def page(request: pytest.FixtureRequest) -> str:
    return SNIPPET.read_text(encoding="utf-8") if request.param == "embed-snippet.html" else demo_page()


def test_demo_page_includes_exactly_the_snippet_once() -> None:
    assert (SITE / "index.html").read_text(encoding="utf-8").count("{{CALLBACK_FORM}}") == 1
    assert BLOCK.findall(demo_page()) == [form_block(SNIPPET)]


def test_consent_sentence_is_the_models_text_word_for_word(page: str) -> None:
    # A bare "& " is valid HTML5 (not a character reference), so the raw text matches too.
    assert CONSENT_TEXT in page
    consent = controls(page)["consent"][0]
    label = next(a for a in reversed(consent.ancestors) if a.tag == "label")
    assert squash(label.text) == CONSENT_TEXT
    assert consent.attrs["type"] == "checkbox"
    assert "required" in consent.attrs


# Sent beside the form's controls: the script adds the render token, Cloudflare's widget its answer.
NOT_CONTROLS = {"render_token", "turnstile_response"}


def test_every_contract_field_is_a_control_of_the_form(page: str) -> None:
    assert set(CallbackRequestIn.model_fields) - NOT_CONTROLS <= set(controls(page))


def test_the_script_sends_the_render_token_the_api_fills_in() -> None:
    script = SCRIPT.read_text(encoding="utf-8")

    assert 'const RENDER_TOKEN = "__RENDER_TOKEN__";' in script
    assert 'data.set("render_token", RENDER_TOKEN)' in script


def test_choices_are_the_models_values_labels_and_defaults(page: str) -> None:
    found = controls(page)
    for name, labels, default in (
        ("best_time", BEST_TIME_LABELS, [BestTime.ANYTIME]),
        # No treatment is chosen for the visitor: nothing is pre-selected.
        ("interest", INTEREST_LABELS, []),
    ):
        radios = found[name]
        assert [r.attrs["value"] for r in radios] == [str(v) for v in labels]
        assert [squash(r.ancestors[-1].text) for r in radios] == list(labels.values())
        assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == default
        fieldset = next(a for a in radios[0].ancestors if a.tag == "fieldset")
        assert any(e.tag == "legend" for e in parse(page) if fieldset in e.ancestors)


def test_limits_and_types_match_the_model(page: str) -> None:
    found = controls(page)
    assert found["name"][0].attrs["maxlength"] == str(NAME_MAX)
    assert found["email"][0].attrs["maxlength"] == str(EMAIL_MAX)
    assert found["message"][0].attrs["maxlength"] == str(MESSAGE_MAX)
    assert found["phone"][0].attrs["type"] == "tel"
    assert found["email"][0].attrs["type"] == "email"
    assert found["message"][0].tag == "textarea"
    for required in ("name", "phone", "consent"):
        assert "required" in found[required][0].attrs
    for optional in ("email", "message", "website"):
        assert "required" not in found[optional][0].attrs
    for hidden in ("source_url", "idempotency_key"):
        assert found[hidden][0].attrs == {"type": "hidden", "name": hidden, "value": ""}
    # Without JavaScript the form carries its own page's path, which the page fills in.
    assert found["form_page"][0].attrs == {"type": "hidden", "name": "form_page", "value": "{{FORM_PAGE}}"}


def test_every_visible_control_has_a_label(page: str) -> None:
    elements = parse(page)
    label_for = {e.attrs["for"] for e in elements if e.tag == "label" and "for" in e.attrs}
    for name, elements_of_name in controls(page).items():
        for control in elements_of_name:
            if control.attrs.get("type") == "hidden":
                continue
            wrapped = any(a.tag == "label" for a in control.ancestors)
            assert wrapped or control.attrs.get("id") in label_for, name


def test_honeypot_is_hidden_from_people_and_screen_readers(page: str) -> None:
    honeypot = controls(page)["website"][0]
    assert honeypot.attrs["tabindex"] == "-1"
    assert honeypot.attrs["autocomplete"] == "off"
    wrapper = honeypot.ancestors[-1]
    assert wrapper.attrs.get("aria-hidden") == "true"
    css_class = wrapper.attrs["class"]
    rule = re.search(rf"\.{css_class}\{{([^}}]*)\}}", page)
    assert rule, "the honeypot wrapper has a style rule"
    assert "position:absolute" in rule.group(1)
    assert "left:-10000px" in rule.group(1)
    assert "display:none" not in rule.group(1)


def test_form_posts_plainly_and_loads_the_script(page: str) -> None:
    elements = parse(page)
    form = next(e for e in elements if e.tag == "form")
    assert form.attrs["class"] == "callback-form"
    assert form.attrs["action"] == "{{API_BASE}}/callback-requests"
    assert form.attrs["method"] == "post"
    # Without JavaScript the browser's own validation helps; the script turns it off for its own.
    assert "novalidate" not in form.attrs
    assert sum(e.tag == "button" and e.attrs.get("type") == "submit" for e in elements) == 1
    status = [e for e in elements if e.attrs.get("role") == "status"]
    assert len(status) == 1
    assert status[0].attrs["aria-live"] == "polite"
    assert form in status[0].ancestors
    scripts = [e for e in elements if e.tag == "script"]
    assert [s.attrs for s in scripts] == [{"src": "{{API_BASE}}/callback-form.js", "defer": ""}]


def test_form_styles_are_scoped_to_the_form() -> None:
    css = re.search(r"<style>(.*?)</style>", form_block(SNIPPET), re.DOTALL)
    assert css
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", css.group(1)) if not s.strip().startswith("@")]
    assert selectors
    for selector in selectors:
        for part in selector.split(","):
            assert part.strip().startswith(".callback-form"), part
    assert ":focus-visible" in css.group(1)
    assert "prefers-reduced-motion" in css.group(1)


def test_script_is_small_and_speaks_the_models_words() -> None:
    script = SCRIPT.read_text(encoding="utf-8")
    assert len(script.encode()) < SCRIPT_BUDGET
    for message in (
        *REQUIRED_MESSAGES.values(),
        *(FIELD_MESSAGES[f] for f in ("name", "phone", "email", "message")),
        PHONE_COST_MESSAGE,
    ):
        assert message in script, message
    assert f"Please shorten your name to {NAME_MAX} characters or fewer." in script
    assert f"at most {EMAIL_MAX} characters" in script
    assert "innerHTML" not in script  # server text is shown as text, never as markup
    assert '"Idempotency-Key": state.key' in script
    assert "662-377-6290" in script


def node() -> str:
    """Playwright's own Node.js (the dev extra installs it), else the machine's."""
    import playwright

    bundled = Path(playwright.__file__).parent / "driver" / "node"
    found = str(bundled) if bundled.is_file() else shutil.which("node")
    assert found, "no Node.js: make install brings Playwright's"
    return found


def test_script_parses() -> None:
    subprocess.run([node(), "--check", str(SCRIPT)], check=True)


def script_rules(phones: list[str], names: list[str]) -> tuple[list[str | None], list[bool]]:
    """The script's own rules block, run by Node on each value: phone problems and name verdicts."""
    block = re.search(r"// rules:start.*?// rules:end", SCRIPT.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "callback-form.js has no rules block"
    program = (
        f"{block.group(0)}\nprocess.stdout.write(JSON.stringify(["
        f"{json.dumps(phones)}.map(phoneProblem), {json.dumps(names)}.map(nameOk)]));"
    )
    result = subprocess.run([node(), "-"], input=program, capture_output=True, text=True, check=True)
    phone_problems, name_verdicts = json.loads(result.stdout)
    return phone_problems, name_verdicts


def api_problem(**fields: Any) -> dict[str, str]:
    try:
        CallbackRequestIn.model_validate(
            {"name": "Jane Doe", "phone": "662-377-6290", "consent": True, **fields}
        )
    except ValidationError as error:
        return {str(e["loc"][0]): str(e["msg"]) for e in error.errors()}
    return {}


PHONES = [
    "(662) 377-6290",
    "+1 662 377 6290",
    "16623776290",
    "(471) 201-2345",  # Tupelo's new overlay
    "471-999-9999",
    "+1 471 840 1234",
    "(787) 722-1234",  # Puerto Rico
    "340 776 1234",  # US Virgin Islands
    "(671) 472-1234",  # Guam
    "(204) 555-0199",  # Canada
    "+1 876 234 5678",
    "(662) 377-6290 x12",
    "662-377-6290 ext. 12",
    "662-377-6290 extension 12",
    "662-377-6290,12",
    "662-377-6290 #12",
    "471-201-2345 x7",
    "+44 20 7946 0958",
    "+44 20 7946 0958 ext. 3",
    "011 44 20 7946 0958",
    "555-1234",
    "123-456-7890",
    "471-123-4567",
    "662 377 629",
    "662377629012",
    "call me",
    "900-555-1234",
    "+1 900 234 5678",
    "1 900 234 5678",
    # Only the API knows these, from the phone library's data; its message appears by the field.
    "555-234-5678",
    "+44 871 234 5678",
    "+999 1234 5678",
]
ONLY_THE_API_REFUSES = {"555-234-5678", "+44 871 234 5678", "+999 1234 5678"}
NAMES = [
    "Jane Doe",
    "Doe, Jane",
    "John & Mary Smith",
    "Seán O’Brien",
    "山田 太郎",
    "محمد علي",
    ".",
    "-",
    "'",
    ", &",
    "R2-D2",
    "Jane <script>",
    "jane@example.com",
    "😀 Jane",
]


def test_script_checks_phones_and_names_by_the_apis_rules_and_words() -> None:
    # Given the script's rules block and the API's model, on the same values
    phone_problems, name_verdicts = script_rules(PHONES, NAMES)

    # Then the script never refuses a number the API accepts, says what the API says when it
    # refuses, and lets through only the numbers that need the library's data to judge
    disagreements = set()
    for typed, script_says in zip(PHONES, phone_problems, strict=True):
        api_says = api_problem(phone=typed).get("phone")
        if script_says != api_says:
            assert script_says is None, typed
            disagreements.add(typed)
    assert disagreements == ONLY_THE_API_REFUSES
    assert phone_problems[PHONES.index("900-555-1234")] == PHONE_COST_MESSAGE
    # And it accepts exactly the names the API accepts
    assert name_verdicts == [not api_problem(name=name) for name in NAMES]


def test_demo_page_is_accessible_and_tells_the_practices_story() -> None:
    html = demo_page()
    elements = parse(html)
    assert elements[0].tag == "html"
    assert elements[0].attrs["lang"] == "en"
    assert any(e.tag == "meta" and e.attrs.get("name") == "viewport" for e in elements)
    assert sum(e.tag == "h1" for e in elements) == 1
    for landmark in ("header", "main", "footer", "article"):
        assert sum(e.tag == landmark for e in elements) == 1, landmark
    text = squash(" ".join(e.text for e in elements if e.tag == "main"))
    for fact in (
        "Accent Plastic & Reconstructive Surgery",
        "Tupelo, Mississippi",
        "Dr. Mark Craig",
        "board-certified plastic surgeon",
        "662-377-6290",
        "Sandstone fractional CO2 laser",
        "numbing cream",
        "five to seven days",
        "Wrinkles and fine lines",
        "sun spots",
        "burn",
        "Stretch marks",
    ):
        assert fact in text, fact


def article_fingerprints(text: str) -> set[str]:
    """A short hash of every run of 8 words: two texts share one where they share a phrase."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {
        hashlib.sha256(" ".join(words[i : i + 8]).encode()).hexdigest()[:16] for i in range(len(words) - 7)
    }


def test_demo_page_is_written_in_our_own_words() -> None:
    lines = ARTICLE_FINGERPRINTS.read_text(encoding="utf-8").splitlines()
    article = {line for line in lines if line and not line.startswith("#")}
    page = article_fingerprints((SITE / "index.html").read_text(encoding="utf-8"))

    assert len(article) > 250  # the whole article, not an empty file
    assert page & article == set()


def test_thank_you_page_says_what_happens_next_and_links_back() -> None:
    elements = parse((SITE / "thank-you.html").read_text(encoding="utf-8"))
    assert elements[0].attrs["lang"] == "en"
    assert any(e.tag == "meta" and e.attrs.get("name") == "viewport" for e in elements)
    assert [squash(e.text) for e in elements if e.tag == "h1"] == ["Thank you — we received your request"]
    assert any(e.tag == "a" and e.attrs.get("href") == "/" and "article" in e.text for e in elements)
    assert any(e.tag == "a" and e.attrs.get("href") == "tel:+16623776290" for e in elements)
