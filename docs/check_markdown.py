"""Checks that README.md and the pages under docs/ render sensibly on GitHub.

Run from anywhere: ``python docs/check_markdown.py`` (standard library only; exit status 1 when a problem
is found, each printed as ``file:line: problem``). Outside fenced code blocks and inline code it checks

* every relative link and image, ``[text](target)``, points to a file or folder of the repository, and a
  ``#fragment`` to a heading of the target page (GitHub's heading anchors);
* math: ``$$`` display delimiters pair up within a paragraph, inline ``$...$`` pairs up within a paragraph,
  and no inline formula starts or ends with a space (GitHub then shows the dollar signs as text).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans blanked out."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            lines.append((number, ""))
            continue
        lines.append((number, "" if fenced else CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`([^`]*)`", r"\1", heading)
    heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    kept = "".join(ch for ch in heading.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (repeated headings get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_problems(page: Path, lines: list[tuple[int, str]]) -> list[str]:
    """Relative links of one page that point nowhere."""
    problems = []
    for number, line in lines:
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # http:, https:, mailto:, ...
            path_part, _, fragment = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(ROOT)}:{number}"
            if not resolved.exists():
                problems.append(f"{where}: link to {target}: no such file")
            elif not resolved.is_relative_to(ROOT):
                problems.append(f"{where}: link to {target}: outside the repository")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                problems.append(f"{where}: link to {target}: no heading with that anchor")
    return problems


def paragraphs(lines: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Groups of consecutive non-blank prose lines."""
    groups: list[list[tuple[int, str]]] = [[]]
    for number, line in lines:
        if line.strip():
            groups[-1].append((number, line))
        elif groups[-1]:
            groups.append([])
    return [group for group in groups if group]


def math_problems(page: Path, lines: list[tuple[int, str]]) -> list[str]:
    """Unpaired or badly spaced dollar signs, one message per paragraph or formula."""
    problems = []
    for group in paragraphs(lines):
        where = f"{page.relative_to(ROOT)}:{group[0][0]}"
        text = "\n".join(line for _, line in group).replace(r"\$", "  ")
        if text.count("$$") % 2:
            problems.append(f"{where}: unpaired $$ in this paragraph")
            continue
        inline = re.sub(r"\$\$.*?\$\$", lambda m: " " * len(m.group(0)), text, flags=re.DOTALL)
        if inline.count("$") % 2:
            problems.append(f"{where}: unpaired $ in this paragraph")
            continue
        for formula in re.findall(r"\$([^$]*)\$", inline):
            if not formula.strip() or formula != formula.strip():
                problems.append(f"{where}: inline formula ${formula}$ starts or ends with a space")
    return problems


def main() -> int:
    problems = []
    for page in pages():
        lines = prose_lines(page.read_text(encoding="utf-8"))
        problems += link_problems(page, lines) + math_problems(page, lines)
    for problem in problems:
        print(problem)
    print(f"{len(pages())} pages checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
