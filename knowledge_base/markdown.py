"""Markdown to the HTML readers see (sanitised) and to the plain text search indexes.

markdown-it-py renders CommonMark plus tables and strikethrough; raw HTML in the source is not trusted
and everything passes through `hub.sanitize.clean_html` before it is stored.
"""

from __future__ import annotations

import re
import unicodedata

from markdown_it import MarkdownIt

from hub.sanitize import clean_html, html_to_text

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def render_markdown(source: str) -> str:
    """Sanitised HTML for a Markdown body (raw HTML in the source is escaped, then the output cleaned)."""
    return clean_html(_md.render(source or ""))


def markdown_to_text(source: str) -> str:
    return html_to_text(render_markdown(source))


_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 120) -> str:
    """ASCII, lowercase, hyphenated; accents folded ("Réinitialiser" -> "reinitialiser")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_STRIP.sub("-", folded).strip("-")
    return slug[:max_length].rstrip("-") or "article"


def summarise(text: str, length: int = 160) -> str:
    """A meta description / snippet: the first sentence-ish run of the text, cut on a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    cut = flat[: length - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"
