"""Rich text is stored sanitized: an allow-list of tags and attributes (nh3), applied on save to
everything people or models write (DESIGN section 5)."""

from html.parser import HTMLParser

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


_BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table", "ul", "ol", "hr"}


class _Outline(HTMLParser):
    """See `outline_text`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.marker = ""  # the list item's "1. " or "- ", indented by the list's depth
        self.lists: list[list] = []  # one [tag, items so far] per open list

    def _flush(self) -> None:
        line = " ".join("".join(self.current).split())
        if line:
            self.lines.append(self.marker + line)
        self.current, self.marker = [], ""

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self._flush()
        elif tag in _BLOCKS:
            self._flush()
            if tag in ("ul", "ol"):
                self.lists.append([tag, 0])
            elif tag == "li" and self.lists:
                kind = self.lists[-1]
                kind[1] += 1
                indent = "  " * (len(self.lists) - 1)
                self.marker = f"{indent}{kind[1]}. " if kind[0] == "ol" else f"{indent}- "
            elif tag == "li":
                self.marker = "- "

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.current.append(" ")
        elif tag in _BLOCKS:
            self._flush()
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()

    def handle_data(self, data):
        self.current.append(data)


def outline_text(html: str) -> str:
    """Plain text that keeps the structure a reader sees: one line per paragraph, heading, line
    break or list item; items of a numbered list start "1. ", "2. ", … and bulleted ones "- ";
    whitespace inside a line is collapsed (source HTML is often wrapped mid-sentence). For the AI,
    which must tell an article's steps from its prose (`plain_text` loses the list markers)."""
    parser = _Outline()
    parser.feed(html or "")
    parser.close()
    parser._flush()
    return "\n".join(parser.lines)
