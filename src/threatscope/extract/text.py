"""The text of a report file: plain text, Markdown, HTML or PDF.

HTML goes through selectolax (the Lexbor parser): script, style and template contents are
dropped and block elements end a line, so that words in adjacent cells or paragraphs do not
run together into something that looks like a domain. PDF goes through pypdfium2 (PDFium, the
engine of Chrome's viewer), which is fast: a twenty-page report takes a few tens of
milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

from threatscope.errors import InputError
from threatscope.files import read_input

__all__ = ["SUFFIXES", "read_report", "read_text"]

_TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".log", ".csv"})
_HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
_PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = _TEXT_SUFFIXES | _HTML_SUFFIXES | _PDF_SUFFIXES
_DROPPED_TAGS = ["script", "style", "noscript", "template"]
_BLOCK_TAGS = (
    "address,article,aside,blockquote,br,caption,dd,div,dl,dt,figcaption,figure,footer,form,"
    "h1,h2,h3,h4,h5,h6,header,hr,li,main,nav,ol,p,pre,section,table,tr,td,th,ul,title"
)

def read_text(path: Path | str) -> str:
    """The text of `path`, chosen by its suffix; any failure is an InputError."""
    return read_report(path)[1]


def read_report(path: Path | str) -> tuple[bytes, str]:
    """The bytes of `path` and its text: one read, so the bytes hashed are the text shown."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        known = ", ".join(sorted(SUFFIXES))
        raise InputError(str(path), f"unsupported file type {suffix or '(none)'!r}: use {known}")
    data = read_input(path, "a report file")
    if suffix in _PDF_SUFFIXES:
        return data, _pdf_text(path, data)
    text = _decode(path, data)
    if suffix in _HTML_SUFFIXES:
        return data, _html_text(text)
    return data, text


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 (or UTF-16 with a byte-order mark), else Windows-1252; NUL bytes mean binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(str(path), "invalid UTF-16 text") from None
    if b"\x00" in data:
        raise InputError(str(path), "binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Reports saved by older Windows tools; cp1252 leaves five byte values undefined.
        return data.decode("cp1252", errors="replace")


# HTML's tree construction walks the stack of open elements for many start tags (is there a
# <p> in button scope?), so a document of n unclosed <div> costs n^2: 200,000 took 184 s in
# Lexbor (issue 11). Browsers stop nesting at a depth (Chrome at 512); so do we, deeper tags
# being dropped before parsing. Real reports nest a few dozen deep and pass through unchanged.
_MAX_DEPTH = 256
# A tag as the nesting count sees it. `[^<>]*` rather than `[^>]*`: an unclosed "<a" must not
# send each of many such openings to the end of the document.
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/<>]*)[^<>]*>")
_VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
})  # fmt: skip
_BLOCK_NAMES = frozenset(_BLOCK_TAGS.split(","))


def _bounded_nesting(html: str) -> str:
    """`html` with the start tags that would nest deeper than `_MAX_DEPTH` dropped (a block
    tag leaves a line break, so that its words stay apart). The count follows the tags as
    written: an end tag closes up to the innermost open element of its name, as in HTML."""
    open_names: list[str] = []
    counts: dict[str, int] = {}
    dropped: list[tuple[int, int, str]] = []
    for tag in _TAG.finditer(html):
        name = tag.group(2).lower()
        if tag.group(1):
            if counts.get(name):
                while open_names:
                    closed = open_names.pop()
                    counts[closed] -= 1
                    if closed == name:
                        break
        elif name not in _VOID_TAGS:
            if len(open_names) >= _MAX_DEPTH:
                dropped.append((tag.start(), tag.end(), "\n" if name in _BLOCK_NAMES else ""))
            else:
                open_names.append(name)
                counts[name] = counts.get(name, 0) + 1
    if not dropped:
        return html
    pieces, last = [], 0
    for start, end, replacement in dropped:
        pieces += [html[last:start], replacement]
        last = end
    pieces.append(html[last:])
    return "".join(pieces)


def _html_text(html: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(_bounded_nesting(html))
    for node in tree.css(",".join(_DROPPED_TAGS)):
        node.decompose()
    for node in tree.css(_BLOCK_TAGS):
        node.insert_after("\n")
    return tree.text(separator="")


def _pdf_text(path: Path, data: bytes) -> str:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise InputError(str(path), f"not a readable PDF: {exc}") from None
    pages: list[str] = []
    try:
        for index in range(len(document)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    pages.append(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
    except pypdfium2.PdfiumError as exc:
        raise InputError(str(path), f"cannot extract text: {exc}", f"page {index + 1}") from None
    finally:
        document.close()
    # PDFium ends lines with CRLF; pages are separated by a form feed, as pdftotext does.
    return "\f".join(pages).replace("\r\n", "\n")
