"""Every relative link of the README and the docs/ pages leads somewhere: the file exists,
and a ``#anchor`` names a heading of that page as GitHub makes its anchors (or an HTML
``id``/``name``). The README links every page of docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text as rendered (code marks, emphasis and
    link targets gone), lower case, without punctuation other than hyphens and
    underscores, spaces turned into hyphens."""
    text = _CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose_lines(page.read_text()):
        anchors.update(_HTML_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        anchor = github_anchor(match.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def links_of(page: Path) -> list[str]:
    targets = []
    for line in _prose_lines(page.read_text()):
        prose = _CODE_SPAN.sub("", line)
        targets.extend(_LINK.findall(prose))
    return targets


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """One line per link of ``page`` that leads nowhere (files judged within ``root``)."""
    broken = []
    for target in links_of(page):
        if _EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if root.resolve() not in destination.parents:
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not a page")
        elif anchor and anchor not in anchors_of(destination):
            broken.append(f"{target}: no heading of {destination.name} makes #{anchor}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_every_page_of_docs() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve()
              for target in links_of(ROOT / "README.md") if not _EXTERNAL.match(target)}
    assert [page.name for page in PAGES[1:] if page not in linked] == []


def test_anchors_are_made_as_github_makes_them(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## 3.1 Command line\n\n### `detect --json`\n\n"
                    "## X/Y/Z plot\n\n## Restore, upscale & **eyes**\n\n## Title\n\n"
                    "```\n# not a heading\n```\n\n### `face_width`\n\n<a id=\"here\"></a>\n")
    assert anchors_of(page) == {"title", "31-command-line", "detect---json", "xyz-plot",
                                "restore-upscale--eyes", "title-1", "face_width", "here"}


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("## There\n")
    page = tmp_path / "page.md"
    page.write_text("## Here\n\n[a](other.md#there) [b](other.md#nowhere) [c](#here) "
                    "[d](#gone) [e](missing.md) `[f](#in-code)` [g](https://x.invalid/#y)\n"
                    "```\n[h](#in-a-fence)\n```\n")
    assert [line.split(":")[0] for line in broken_links(page, tmp_path)] == [
        "other.md#nowhere", "#gone", "missing.md"]
    (tmp_path / "inner").mkdir()
    inner = tmp_path / "inner" / "page.md"
    inner.write_text("[up](../other.md#there) [out](../../elsewhere.md)\n")
    assert broken_links(inner, tmp_path) == ["../../elsewhere.md: outside the repository"]
