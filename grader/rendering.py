"""Cells of a graded notebook as HTML for the grading view, the way nbconvert renders them.

Markdown goes through nbconvert's own Markdown filter (mistune, code blocks highlighted) and
code through nbconvert's Highlight2HTML (Pygments), as nbgrader's feedback HTML does. Student
text is untrusted: the Markdown's HTML is cut down to an allow-list with bleach, so a <script>,
an event handler or a javascript: link shows as text or disappears. Math stays as its LaTeX
source (the page loads no script from elsewhere). Pygments' classes are styled by
static/highlight.css.
"""

from __future__ import annotations

import re

import bleach
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import markdown2html_mistune

ALLOWED_TAGS = frozenset(
    """a abbr b blockquote br code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img li ol p pre s
    span strong sub sup table tbody td th thead tr ul""".split()
)


def _image_attr(tag: str, name: str, value: str) -> bool:
    return name == "alt" or (name == "src" and value.startswith("data:image/"))


ALLOWED_ATTRIBUTES = {
    "a": ["href", "title"],
    "span": ["class"],
    "div": ["class"],
    "code": ["class"],
    "img": _image_attr,
}
_highlight = Highlight2HTML()
# nbconvert's heading anchors point at ids the allow-list removes; an image by file name
# (an attachment of the assignment) is not served here, so its name is shown instead.
ANCHOR = re.compile(r'<a class="anchor-link" href="#[^"]*">[^<]*</a>')
FILE_IMAGE = re.compile(r'<img\b[^>]*?\bsrc="(?!data:image/)([^"]*)"[^>]*>')


def markdown_html(source: str) -> str:
    """A Markdown cell as safe HTML."""
    html = ANCHOR.sub("", markdown2html_mistune(source))
    html = FILE_IMAGE.sub(lambda m: f"<em>[image: {m.group(1)}]</em>", html)
    return bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=["http", "https", "mailto", "data"],
        strip=False,  # a disallowed tag is shown as text, not silently dropped
    )


def output_html(html: str) -> str:
    """A text/html output (a pandas table, say) cut to the same allow-list plus captions."""
    return bleach.clean(
        html,
        tags=ALLOWED_TAGS | {"caption"},
        attributes={**ALLOWED_ATTRIBUTES, "table": ["class"], "th": ["colspan", "rowspan"]},
        protocols=["http", "https", "mailto", "data"],
        strip=True,  # an output's markup is a program's, not a person's: drop what is not allowed
    )


def code_html(source: str, language: str = "python") -> str:
    """A code cell's source, highlighted (Pygments escapes the text itself)."""
    return str(_highlight(source, language=language or "python"))
