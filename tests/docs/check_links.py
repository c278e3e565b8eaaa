#!/usr/bin/env python3
"""Checks that the documentation's cross-references resolve (ctest Docs.links).

- Every relative Markdown link in README.md and docs/*.md names a file of the repository, and
  its #anchor names a heading of that file (GitHub's anchors: lower case, punctuation dropped,
  spaces as hyphens).
- Every place the code or config names a section, as `README, "Section"` or
  `docs/page.md, "Section"`, names a heading that exists there.
- No page links outside the repository by a relative path (../shared/...).

Usage: check_links.py SOURCE_DIR. Prints each broken reference and exits 1 if there is any.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1]).resolve()
pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
errors = []


def headings(path):
    """Anchor slug -> heading text, of every heading outside code blocks."""
    out, fenced = {}, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else re.match(r"^#{1,6} (.*)$", line)
        if m:
            text = m.group(1).strip()
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            out[slug] = text
    return out


def strip_code(text):
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


for page in pages:
    for target in re.findall(r"\]\(([^)\s]+)\)", strip_code(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        where = f"{page.relative_to(root)}: ({target})"
        if root not in dest.parents and dest != root:
            errors.append(f"{where} points outside the repository")
        elif not dest.exists():
            errors.append(f"{where}: no such file")
        elif anchor and anchor not in headings(dest):
            errors.append(f"{where}: no heading with the anchor #{anchor} in {dest.relative_to(root)}")
    for m in re.finditer(r"\.\./[\w./-]+", page.read_text(encoding="utf-8")):
        errors.append(f"{page.relative_to(root)}: names a path outside the repository: {m.group(0)}")

# `README, "Section"` and `docs/page.md, "Section"` in code, scripts, config and tests
ref = re.compile(r'(README|docs/[\w-]+\.md)(?:\.md)?,\s*\\?"([^"\\]+)\\?"')
for sub in ("userspace", "bpf", "config", "scripts", "tests", "cmake"):
    for f in sorted((root / sub).rglob("*")):
        skip = f == pathlib.Path(__file__).resolve() or {"fixtures", "corpus"} & set(f.parts)
        if skip or not f.is_file() or f.suffix in (".md", ".png", ".svg"):
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for m in ref.finditer(text):
            doc = root / ("README.md" if m.group(1) == "README" else m.group(1))
            section = m.group(2)
            where = f"{f.relative_to(root)}: {m.group(0)}"
            if not doc.exists():
                errors.append(f"{where}: no such file")
            elif section not in headings(doc).values():
                errors.append(f"{where}: {doc.relative_to(root)} has no heading \"{section}\"")

for e in errors:
    print("BROKEN:", e)
print(f"{len(pages)} pages checked, {len(errors)} broken references")
sys.exit(1 if errors else 0)
