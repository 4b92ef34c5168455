"""Query text → search terms.

A query is split into lower-case words; each word must match a clip's label, action, sport,
game title or team (see ``highlights.selectors.search_clips``).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w#'-]+", re.UNICODE)


def query_terms(text: str) -> list[str]:
    """Lower-case words of ``text`` in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)
