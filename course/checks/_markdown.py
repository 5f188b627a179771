"""Reading a learner's markdown document (a model card) by its `## ` sections."""

from __future__ import annotations

import re


def sections(markdown: str) -> dict[str, str]:
    """{lower-cased heading: text under it} for every `## heading` of the document."""
    found: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        heading = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if heading:
            current = heading.group(1).strip().lower()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {k: "\n".join(v).strip() for k, v in found.items()}
