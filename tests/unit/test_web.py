"""Content negotiation and the HTML error page of a browser's own form post."""

from __future__ import annotations

import pytest

from callbacks.models.api import FieldProblem
from callbacks.web import error_page, prefers_html


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
