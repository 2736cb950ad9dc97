"""Message text as HTML: markdown with code blocks and links, any HTML in it escaped."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

# "commonmark" with raw HTML off: a message cannot inject markup, and markdown-it's link
# validation already refuses javascript:, vbscript: and data: (except images) URLs.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")
_md.enable("strikethrough")


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    """Cited links open apart from the dashboard and pass it no referrer."""
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    tokens[idx].attrSet("target", "_blank")
    return str(self.renderToken(tokens, idx, options, env))


_md.add_render_rule("link_open", _link_open)


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or its text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                parts.append(f"[image]({url})" if isinstance(url, str) else "[image]")
        return "\n\n".join(parts)
    return str(content)


def render_markdown(content: Any) -> Markup:
    return Markup(_md.render(message_text(content)))  # noqa: S704 (escaped by markdown-it)
