"""The README's picture of the dashboard is drawn from template.yaml and kept up to date."""

from __future__ import annotations

import html

from infra.tools.dashboard_picture import PICTURE, dashboard_body, draw


def test_the_committed_picture_is_the_one_the_template_draws() -> None:
    redraw = ".venv/bin/python -m infra.tools.dashboard_picture"
    assert PICTURE.read_text(encoding="utf-8") == draw(dashboard_body()), f"out of date: run {redraw}"


def test_the_picture_shows_every_widget_of_the_dashboard() -> None:
    picture = html.unescape(PICTURE.read_text(encoding="utf-8"))
    widgets = dashboard_body()["widgets"]

    assert picture.count("<rect ") == len(widgets) + 1  # the background, then one box each
    for widget in widgets:
        first_word = widget["properties"].get("title", "Call-back requests").split()[0]
        assert first_word in picture
