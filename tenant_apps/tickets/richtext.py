"""Rich text is stored sanitized: an allow-list of tags and attributes (nh3), applied on save to
everything people or models write (DESIGN section 5)."""

import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h2", "h3", "h4", "a", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
MAX_LENGTH = 100_000  # characters of HTML, after sanitizing


def sanitize_html(html: str) -> str:
    """Keep formatting, drop scripts, event handlers, styles, SVG and non-web link schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def plain_text(html: str) -> str:
    """Text content, for search vectors and plain-text emails."""
    return nh3.clean(html, tags=set(), attributes={}).replace("&nbsp;", " ").strip()
