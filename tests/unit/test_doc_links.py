"""Every relative link in README.md and docs/*.md points at a file that exists, and at a heading there.

The README is the ten-minute tour and docs/ the depth behind it: sections move between them, and a
link left behind would send a reader to nothing. Web addresses are not followed (no network here).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target), ![alt](target), and the src of an <img> tag
LINK = re.compile(r"\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)|<img\s[^>]*\bsrc=\"([^\"]+)\"")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def prose(path: Path) -> str:
    """The file without its code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))


def anchors(path: Path) -> set[str]:
    """The fragment each heading gets on GitHub: lower case, punctuation dropped, spaces to hyphens."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        text = re.sub(r"[`*_]|<[^>]+>", "", heading)  # inline markup is not part of the fragment
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    links = [a or b for a, b in LINK.findall(prose(path))]
    return [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


def test_the_readme_and_the_docs_are_there_and_link_somewhere() -> None:
    names = {path.name for path in DOCS}
    assert {"api.md", "architecture.md", "local.md", "operations.md", "privacy.md"} <= names
    assert len(relative_links(ROOT / "README.md")) >= 20


def test_the_readme_is_a_ten_minute_read() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; the depth belongs in docs/"
    assert any(line.startswith("make run") for line in lines)
    assert any(line.startswith("make test") for line in lines)


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_and_its_heading(doc: Path) -> None:
    broken = []
    for link in relative_links(doc):
        target, _, fragment = unquote(link).partition("#")
        file = (doc.parent / target).resolve() if target else doc
        if not file.exists():
            broken.append(f"{link}: no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        elif not file.is_relative_to(ROOT):
            broken.append(f"{link}: outside the repository")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{link}: no heading #{fragment} in {file.relative_to(ROOT)}")

    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)
