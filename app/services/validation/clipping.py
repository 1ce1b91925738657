"""Cell values cut for echoing (issues, min and max, the preview), with their full length said."""

from __future__ import annotations

# Enough to recognise any real value; a 50 MB cell must not be copied into the report, the
# task store, every desk's details panel and the terminal.
ECHO_LIMIT = 200


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"
