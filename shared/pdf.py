"""PDF documents any service can issue (minutes, extracts, reports): A4, a running header, "Sida 1 av 3".

Built on fpdf2 with an embedded TrueType font (DejaVu Sans, Debian's fonts-dejavu-core): the PDF
core fonts only know Latin-1, and a name or a decision may hold any letter, a dash or quotes.
Only the glyphs a document uses are embedded. `PDF_FONT_DIR` names another directory holding
DejaVuSans.ttf and DejaVuSans-Bold.ttf.

A document is written top to bottom: `title_block`, `heading`, `facts` (label and value),
`text`, `table`, `signatures`, `framed` (a bordered block), then `to_bytes()`.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from eventlet import patcher, tpool
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from shared.threads import thread_safe_logging

FONT_DIR_VARIABLE = "PDF_FONT_DIR"
DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "body"
# fontTools reports each step of subsetting a font at INFO: some twenty lines a document, noise in
# a service's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

MARGIN = 20.0  # mm
LINE = 5.2  # mm, for 10 pt text
GREY = (90, 90, 90)


class FontMissing(RuntimeError):
    """The font to embed is not installed (Debian: fonts-dejavu-core)."""


def font_dir() -> Path:
    return Path(os.environ.get(FONT_DIR_VARIABLE) or DEFAULT_FONT_DIR)


@dataclass(frozen=True)
class Signer:
    """A signature line: the role above it, the name and a note (e.g. the date signed) below it."""

    role: str
    name: str = ""
    note: str = ""


class _Pages(FPDF):
    """fpdf2 with the running header and footer of every page."""

    header_left = ""
    header_right = ""
    header_mark = ""

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the first page opens with the title block, which says the same
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        width = self.epw / 2
        self.cell(width, 4, self.header_left, new_x=XPos.RIGHT, new_y=YPos.TOP)
        right = " · ".join(part for part in (self.header_right, self.header_mark) if part)
        self.cell(width, 4, right, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_text_color(0, 0, 0)
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"Sida {self.page_no()} av {{nb}}", align="C")
        self.set_text_color(0, 0, 0)


class Document:
    """One PDF document. `header_left`/`header_right` run on every page after the first;
    `mark` (e.g. "Ej justerat") is added to that header on every page."""

    def __init__(self, *, title: str, header_left: str = "", header_right: str = "", mark: str = "",
                 author: str = "") -> None:
        pdf = _Pages(format="A4")
        directory = font_dir()
        for style, name in FONT_FILES.items():
            path = directory / name
            if not path.is_file():
                raise FontMissing(
                    f"{path} is missing: install Debian's fonts-dejavu-core, or set {FONT_DIR_VARIABLE} to a "
                    f"directory with {' and '.join(FONT_FILES.values())}"
                )
            pdf.add_font(FAMILY, style, str(path))
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=MARGIN)
        pdf.set_title(title)
        pdf.set_lang("sv-SE")
        if author:
            pdf.set_author(author)
        pdf.header_left, pdf.header_right, pdf.header_mark = header_left, header_right, mark
        pdf.add_page()
        pdf.set_font(FAMILY, "", 10)
        self.pdf = pdf

    # --- blocks ----------------------------------------------------------------------

    def title_block(self, organisation: str, kind: str, lines: Sequence[str] = ()) -> None:
        """The document's head: who issues it (large), what it is (e.g. PROTOKOLL), a line or two."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "B", 15)
        pdf.multi_cell(0, 7, clean(organisation), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        pdf.set_font(FAMILY, "B", 18)
        pdf.multi_cell(0, 9, clean(kind), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 10)
        for line in lines:
            pdf.multi_cell(0, LINE, clean(line), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(4)

    def banner(self, text: str) -> None:
        """A prominent boxed line (e.g. EJ JUSTERAT)."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "B", 13)
        top = pdf.get_y()
        pdf.multi_cell(0, 9, clean(text), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_line_width(0.6)
        pdf.rect(pdf.l_margin, top, pdf.epw, pdf.get_y() - top)
        pdf.set_line_width(0.2)
        pdf.set_font(FAMILY, "", 10)
        pdf.ln(3)

    def heading(self, text: str, level: int = 1) -> None:
        """A heading, never alone at the foot of a page."""
        pdf = self.pdf
        size = {1: 13, 2: 11}.get(level, 10)
        if pdf.will_page_break(size * 0.5 + 4 * LINE):
            pdf.add_page()
        pdf.ln(2 if level > 1 else 3)
        pdf.set_font(FAMILY, "B", size)
        pdf.multi_cell(0, size * 0.5, clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 10)
        pdf.ln(1)

    def facts(self, rows: Sequence[tuple[str, str | Sequence[str]]]) -> None:
        """Label and value, one row each; a value of several lines (a list) stays beside its label.
        The labels' column is as wide as the widest label, up to 45 % of the line."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "B", 10)
        label_width = min(max([pdf.get_string_width(clean(label)) for label, _ in rows] or [0]) + 5, pdf.epw * 0.45)
        label_width = max(label_width, 35.0)
        for label, value in rows:
            lines = [value] if isinstance(value, str) else list(value)
            text = "\n".join(clean(line) for line in lines) or "–"
            pdf.set_font(FAMILY, "B", 10)
            label_height = self._height(clean(label), label_width - 2)
            pdf.set_font(FAMILY, "", 10)
            value_height = self._height(text, pdf.epw - label_width)
            if pdf.will_page_break(max(label_height, min(value_height, 4 * LINE)) + 1):
                pdf.add_page()
            top = pdf.get_y()
            pdf.set_font(FAMILY, "B", 10)
            pdf.multi_cell(label_width - 2, LINE, clean(label), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            label_page, label_bottom = pdf.page_no(), pdf.get_y()
            pdf.set_xy(pdf.l_margin + label_width, top)
            pdf.set_font(FAMILY, "", 10)
            pdf.multi_cell(pdf.epw - label_width, LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            bottom = max(pdf.get_y(), label_bottom) if pdf.page_no() == label_page else pdf.get_y()
            pdf.set_xy(pdf.l_margin, bottom + 1)

    def text(self, text: str, bold: bool = False) -> None:
        """Running text that wraps (blank lines kept as paragraph breaks)."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "B" if bold else "", 10)
        pdf.multi_cell(0, LINE, clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 10)
        pdf.ln(1.5)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float] | None = None,
              align: Sequence[str] | None = None, footer: Sequence[str] | None = None) -> None:
        """A table with a bold header row (repeated on a new page) and an optional bold last row."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "", 9)
        alignments = list(align) if align else ["LEFT"] * len(header)
        with pdf.table(
            col_widths=tuple(widths) if widths else None, width=pdf.epw, align="LEFT", text_align=tuple(alignments),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES, line_height=LINE - 0.4,
            headings_style=FontFace(emphasis="BOLD"), padding=(0.8, 1.5),
        ) as table:
            table.row([clean(cell) for cell in header])
            for values in rows:
                table.row([clean(cell) for cell in values])
            if footer is not None:
                row = table.row()
                for cell in footer:
                    row.cell(clean(cell), style=FontFace(emphasis="BOLD"))
        pdf.set_font(FAMILY, "", 10)
        pdf.ln(2)

    def signatures(self, signers: Sequence[Signer], per_row: int = 2) -> None:
        """Lines to sign on, `per_row` abreast: the role above, the name and note below."""
        pdf = self.pdf
        gap = 10.0
        width = (pdf.epw - gap * (per_row - 1)) / per_row
        for start in range(0, len(signers), per_row):
            row = signers[start:start + per_row]
            if pdf.will_page_break(30):
                pdf.add_page()
            top = pdf.get_y()
            bottom = top
            for column, signer in enumerate(row):
                x = pdf.l_margin + column * (width + gap)
                pdf.set_xy(x, top)
                pdf.set_font(FAMILY, "B", 9)
                pdf.cell(width, LINE, clean(signer.role), new_x=XPos.LEFT, new_y=YPos.NEXT)
                line_y = pdf.get_y() + 10
                pdf.line(x, line_y, x + width, line_y)
                pdf.set_xy(x, line_y + 1)
                pdf.set_font(FAMILY, "", 10)
                pdf.multi_cell(width, LINE, clean(signer.name) or " ", align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
                if signer.note:
                    pdf.set_font(FAMILY, "", 8)
                    pdf.set_text_color(*GREY)
                    pdf.multi_cell(width, 4, clean(signer.note), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
                    pdf.set_text_color(0, 0, 0)
                bottom = max(bottom, pdf.get_y())
            pdf.set_xy(pdf.l_margin, bottom + 4)
        pdf.set_font(FAMILY, "", 10)

    @contextmanager
    def framed(self, least_height: float = 60.0) -> Iterator[None]:
        """A bordered block (what is written within it): begun on a new page unless `least_height` mm fit."""
        pdf = self.pdf
        if pdf.will_page_break(least_height):
            pdf.add_page()
        page, top = pdf.page_no(), pdf.get_y()
        pdf.set_left_margin(MARGIN + 3)
        pdf.set_right_margin(MARGIN + 3)
        pdf.set_xy(MARGIN + 3, top + 3)
        try:
            yield
        finally:
            pdf.set_left_margin(MARGIN)
            pdf.set_right_margin(MARGIN)
            bottom = pdf.get_y() + 1
            if pdf.page_no() == page:  # a block that ran over a page is left open rather than boxed wrongly
                pdf.rect(MARGIN, top, pdf.w - 2 * MARGIN, bottom - top)
            pdf.set_xy(MARGIN, bottom + 3)

    def space(self, height: float = 4.0) -> None:
        self.pdf.ln(height)

    def page_break(self) -> None:
        self.pdf.add_page()

    def to_bytes(self) -> bytes:
        return bytes(self.pdf.output())

    def _height(self, text: str, width: float) -> float:
        lines = self.pdf.multi_cell(width, LINE, text, dry_run=True, output="LINES")
        return len(lines) * LINE


def clean(text: object) -> str:
    """Text as a PDF line takes it: a string, no carriage returns or other control characters but newline."""
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(char for char in value if char == "\n" or char >= " ")


def rendered(render: Callable[..., bytes], *arguments: Any) -> bytes:
    """A document rendered in an OS thread of eventlet's pool when the process runs on eventlet's hub (a
    service): rendering is CPU work of up to seconds for a large protokoll, and on the hub it would hold
    up the service's other requests, its inboxes, outbox relay and timers meanwhile."""
    if patcher.is_monkey_patched("thread"):
        thread_safe_logging()  # fontTools logs while it subsets the font
        return tpool.execute(render, *arguments)
    return render(*arguments)
