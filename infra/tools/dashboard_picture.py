"""Draw the CloudWatch dashboard's layout from template.yaml: each widget where CloudWatch puts it,
with its title and the lines it plots. A plan of the widgets, not their data: CloudWatch cannot be
run locally, so nothing here can draw the graphs themselves.

    .venv/bin/python -m infra.tools.dashboard_picture            (writes infra/docs/dashboard-widgets.svg)
    .venv/bin/python -m infra.tools.dashboard_picture --check    (exit 1 if the picture is out of date)

A unit test runs ``--check``'s comparison, so the picture in docs/operations.md follows the template.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from infra.provision import load_template

ROOT = Path(__file__).resolve().parents[2]
PICTURE = ROOT / "infra" / "docs" / "dashboard-widgets.svg"
COLUMN = 40  # CloudWatch's grid: 24 columns
ROW = 26
PAD = 4
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def dashboard_body(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dashboard's body, its ``${...}`` placeholders shown by name (``${IntakeFunction}``)."""
    template = template or load_template()
    [body] = [
        definition["Properties"]["DashboardBody"]["Fn::Sub"]
        for definition in template["Resources"].values()
        if definition["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    shown = {"AWS::StackName": "<stack>", "AWS::Region": "<region>"}
    parsed: dict[str, Any] = json.loads(
        _PLACEHOLDER.sub(lambda match: shown.get(match.group(1), match.group(1)), body)
    )
    return parsed


def line_labels(properties: dict[str, Any]) -> list[str]:
    """What each plotted line is called: its label, else its metric (and stat when it has one)."""
    labels = []
    for metric in properties.get("metrics", []):
        options = metric[-1] if metric and isinstance(metric[-1], dict) else {}
        per_value = re.search(r"PROP\('Dim\.(\w+)'\)", str(options.get("label", "")))
        if per_value:
            labels.append(f"one line per {per_value.group(1)}")
        elif "label" in options:
            labels.append(str(options["label"]))
        elif "expression" in options:
            labels.append(str(options.get("id", "expression")))
        else:
            names = [part for part in metric if isinstance(part, str)]
            labels.append(names[1] if len(names) > 1 else names[0])
    return labels


def _every(seconds: int) -> str:
    return {3600: "by the hour", 86400: "by the day"}.get(seconds, f"every {seconds // 60} min")


def _text(x: float, y: float, content: str, *, size: int = 12, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" '
        f'fill="#1d2329">{html.escape(content)}</text>'
    )


def draw(body: dict[str, Any]) -> str:
    widgets = body["widgets"]
    width = 24 * COLUMN
    height = max(w["y"] + w["height"] for w in widgets) * ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" role="img" '
        'aria-labelledby="title">',
        '<title id="title">The CloudWatch dashboard of template.yaml: where each widget sits, its '
        "title and the lines it plots</title>",
        f'<rect width="{width}" height="{height}" fill="#f1f3f5"/>',
    ]
    for widget in widgets:
        x, y = widget["x"] * COLUMN + PAD, widget["y"] * ROW + PAD
        w, h = widget["width"] * COLUMN - 2 * PAD, widget["height"] * ROW - 2 * PAD
        parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="#ffffff" stroke="#c9ced3"/>'
        )
        chars = max(12, int(w / 6.6))
        properties = widget["properties"]
        if widget["type"] == "text":
            lines = [line for line in properties["markdown"].splitlines() if line.strip()]
            title, rest = lines[0].lstrip("# "), " ".join(lines[1:])
            rest = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", rest).replace("*", "").replace("`", "")
            parts.append(_text(x + 10, y + 20, title, size=14, weight="bold"))
            for number, line in enumerate(textwrap.wrap(rest, int(w / 6.2))[:3]):
                parts.append(_text(x + 10, y + 38 + 15 * number, line))
            continue
        for number, line in enumerate(textwrap.wrap(properties.get("title", ""), int(w / 7.4))[:2]):
            parts.append(_text(x + 10, y + 18 + 15 * number, line, size=13, weight="bold"))
        stat = properties.get("stat")
        legend = [f"- {label}" for label in line_labels(properties)]
        if stat:
            legend.append(f"({stat}, {_every(int(properties.get('period', 300)))})")
        room = int((h - 50) / 14)
        for number, line in enumerate(legend[:room]):
            parts.append(
                _text(x + 12, y + 52 + 14 * number, textwrap.shorten(line, chars, placeholder="..."))
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the picture is out of date")
    args = parser.parse_args(argv)
    picture = draw(dashboard_body())
    if args.check:
        current = PICTURE.read_text(encoding="utf-8") if PICTURE.is_file() else ""
        if current != picture:
            print(f"{PICTURE} is out of date: run .venv/bin/python -m infra.tools.dashboard_picture")
            return 1
        return 0
    PICTURE.write_text(picture, encoding="utf-8")
    print(PICTURE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
