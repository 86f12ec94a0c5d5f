"""Content negotiation and the HTML error page of a browser's own form post."""

from __future__ import annotations

import pytest

from callbacks.handlers.api.pages import error_page, form_back_link, prefers_html
from callbacks.models.api import FieldProblem


@pytest.mark.parametrize(
    "accept",
    [
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",  # Chrome
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # Firefox, Safari
        "text/html",
        "application/json;q=0.5, text/html",
    ],
)
def test_given_a_browsers_form_post_accept_header_then_a_page_is_preferred(accept: str) -> None:
    assert prefers_html(accept)


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",
        "application/json",
        "application/json, text/plain, */*",
        "text/html;q=0.5, application/json",
        "text/*;q=0.1, application/json",
        "text/html;q=abc",
    ],
)
def test_given_fetch_or_an_api_client_then_json_is_preferred(accept: str | None) -> None:
    assert not prefers_html(accept)


def test_given_problems_then_the_page_lists_each_with_its_label_escaped() -> None:
    page = error_page(
        [
            FieldProblem(field="name", message="Please enter your name."),
            FieldProblem(field="phone", message="<script>alert(1)</script>"),
        ],
        back_url='https://site.example/form?a=1&b="2"',
    )

    assert "<li><strong>Name:</strong> Please enter your name.</li>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert 'href="https://site.example/form?a=1&amp;b=&quot;2&quot;"' in page
    assert page.count("<li>") == 2
    assert '<html lang="en">' in page
    assert "<h1" in page


def test_given_no_page_to_go_back_to_then_the_back_button_is_suggested() -> None:
    page = error_page([FieldProblem(field="consent", message="Please tick the box.")], back_url=None)

    assert "Back button" in page
    assert "javascript:" not in page


SITE = "https://www.accentplasticsurgery.example"
ALLOWED = (SITE, "https://accentplasticsurgery.example")


@pytest.mark.parametrize(
    ("origin", "referer", "form_page", "link"),
    [
        # A cross-origin post: the Referer holds only the origin, the form carries its path.
        (SITE, f"{SITE}/", "/fractional-co2-laser/", f"{SITE}/fractional-co2-laser/"),
        (SITE, None, "/laser/?utm_source=x#form", f"{SITE}/laser/"),
        ("null", f"{SITE}/", "/laser/", f"{SITE}/laser/"),  # Origin: null counts as none
        (None, f"{SITE}/", "/laser/", f"{SITE}/laser/"),
        # No path in the form: a Referer with a path still serves (a same-origin post, or a policy).
        (SITE, f"{SITE}/laser/?gclid=1", None, f"{SITE}/laser/"),
        (SITE, f"{SITE}/laser/", "{{FORM_PAGE}}", f"{SITE}/laser/"),  # the placeholder, not filled in
    ],
)
def test_given_a_path_and_an_allowed_origin_then_the_link_leads_back_to_the_form_page(
    origin: str | None, referer: str | None, form_page: str | None, link: str
) -> None:
    assert form_back_link(origin, referer, form_page, ALLOWED) == link


@pytest.mark.parametrize(
    ("origin", "referer", "form_page"),
    [
        (SITE, f"{SITE}/", None),  # only the origin is known: the home page is not the form
        (SITE, SITE, None),
        (None, None, "/laser/"),  # no origin at all
        (None, "https://evil.example/laser/", "/laser/"),  # not an allowed origin
        ("https://evil.example", None, "/laser/"),
        (SITE, "https://evil.example/laser/", None),  # a Referer's path counts only on the same origin
        (SITE, None, "//evil.example/laser/"),
        (SITE, None, "https://evil.example/"),
        (SITE, None, "/laser/\\evil"),
        (SITE, None, "/a b"),
    ],
)
def test_given_no_trustworthy_page_then_no_link_and_the_back_button(
    origin: str | None, referer: str | None, form_page: str | None
) -> None:
    assert form_back_link(origin, referer, form_page, ALLOWED) is None


def test_given_a_post_from_a_page_on_the_apis_own_origin_then_its_whole_referer_leads_back() -> None:
    # A same-origin post's Referer is whole: "/" is then the form's page, not a cut-down origin.
    assert form_back_link(SITE, f"{SITE}/", None, ALLOWED, own_origin=SITE) == f"{SITE}/"
    assert form_back_link(SITE, f"{SITE}/", None, ALLOWED, own_origin="https://api.example") is None
