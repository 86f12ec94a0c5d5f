"""docs/operations.md's picture of the dashboard is drawn from template.yaml and kept up to date."""

from __future__ import annotations

import html
import re

from infra.tools.dashboard_picture import PICTURE, dashboard_body, draw


def test_the_committed_picture_is_the_one_the_template_draws() -> None:
    redraw = ".venv/bin/python -m infra.tools.dashboard_picture"
    assert PICTURE.read_text(encoding="utf-8") == draw(dashboard_body()), f"out of date: run {redraw}"


def test_the_picture_shows_every_widget_of_the_dashboard_by_its_whole_title() -> None:
    picture = PICTURE.read_text(encoding="utf-8")
    drawn = " ".join(html.unescape(text) for text in re.findall(r">([^<>]*)</text>", picture))
    widgets = dashboard_body()["widgets"]

    assert picture.count("<rect ") == len(widgets) + 1  # the background, then one box each
    titles = [widget["properties"]["title"] for widget in widgets if widget["type"] == "metric"]
    assert len(titles) == len(widgets) - 1  # and the text widget at the top
    for title in titles:
        assert title in drawn, f"{title!r} is not drawn"
