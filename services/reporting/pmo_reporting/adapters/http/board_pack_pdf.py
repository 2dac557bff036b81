"""The board pack's PDF: one A4 landscape page per section, set with matplotlib. Imported only by the drawing
process (`drawings.pdf`); the service process builds the `Pack` (`board_pack`) and never loads matplotlib."""

from __future__ import annotations

import io
import textwrap
from typing import Any, cast

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.textpath import text_to_path

from pmo_reporting.adapters.http import charts
from pmo_reporting.adapters.http.drawings import Pack, Section

#: A4 landscape, in inches.
PAGE = (11.69, 8.27)
#: Long text (rationales) is wrapped at this many characters in the PDF's tables.
WRAP = 60


def pdf_fonts() -> list[str]:
    """The PDF's fonts (`charts.STYLE`), embedded as subsets, so that every name renders and can be found and
    copied: DejaVu Sans, then a CJK font when the system has one (fonts-noto-cjk)."""
    return list(charts.FONTS)


def render_pdf(pack: Pack) -> bytes:
    """One A4 landscape page per section: a header with the portfolio and the date, the chart, the tables."""
    buffer = io.BytesIO()
    metadata = {"Title": f"Board pack: {pack.name}", "Subject": pack.stamp, "Creator": "PMO reporting"}
    with matplotlib.rc_context(charts.STYLE), PdfPages(buffer, metadata=metadata) as pdf:  # type: ignore[arg-type]
        for number, section in enumerate(pack.sections, start=1):
            page = Figure(figsize=PAGE)
            header, body = _split(page, 2, 1, height_ratios=[0.09, 0.91])
            header.text(0.03, 0.62, f"{pack.name}: {section.title}", fontsize=15, weight="bold")
            header.text(0.03, 0.2, f"Board pack · {pack.stamp}", fontsize=9)
            header.text(0.97, 0.2, f"page {number} of {len(pack.sections)}", fontsize=9, ha="right")
            if section.chart is not None:
                drawing, tables = _split(body, 1, 2, width_ratios=[0.5, 0.5])
                charts.draw_on(section.chart, drawing)
            else:
                tables = body
            _tables(tables, section)
            pdf.savefig(page)
    return buffer.getvalue()


def _split(
    canvas: charts.Canvas,
    rows: int,
    columns: int,
    height_ratios: list[float] | None = None,
    width_ratios: list[float] | None = None,
) -> list[SubFigure]:
    """A page (or part of one) cut into a grid of parts, row by row."""
    parts = canvas.subfigures(rows, columns, squeeze=False, height_ratios=height_ratios, width_ratios=width_ratios)
    return list(cast(Any, parts).flat)


#: The PDF tables' type sizes (points): captions, cells, notes; the smallest a wide table shrinks to.
CAPTION_SIZE, CELL_SIZE, NOTE_SIZE, SMALLEST = 9.0, 7.5, 9.0, 5.0
#: A cell's padding and a line's height, in points and in multiples of the type size.
PAD, LEADING = 3.0, 1.25
RULE = "#c8c8c8"


def _width(text: str, size: float, bold: bool = False) -> float:
    """The width of a line of text, in points, as the PDF sets it (the fonts' advances, no drawing)."""
    weight = "bold" if bold else "normal"
    prop = font_manager.FontProperties(family=charts.FONTS, size=size, weight=weight)
    return float(text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0])


def _row_height(row: list[str], size: float) -> float:
    return size * LEADING * max(cell.count("\n") + 1 for cell in row) + 3


def _tables_height(tables: list[list[list[str]]], size: float) -> float:
    """The height, in points, the tables take when their cells are set at `size`."""
    heights = [
        CAPTION_SIZE * 1.6 + (size * LEADING + 2 + sum(_row_height(row, size) for row in rows) if rows else size * 2.5)
        for rows in tables
    ]
    return sum(heights) + CAPTION_SIZE * 1.8 * len(tables)


def _tables(into: charts.Canvas, section: Section) -> None:
    """The section's tables, stacked from the top, each with its caption, header row and a rule under each
    row; long text wrapped, figures right-aligned, a table too wide for the space set in smaller type.

    Every cell is placed as text on the page (no axes, no matplotlib Table: its cells' patches, automatic
    column widths and repeated layout were most of the PDF's time)."""
    to_points = 72 / into.figure.dpi
    width, height = into.bbox.width * to_points, into.bbox.height * to_points
    left, y = 0.03 * width, height - 12.0

    def put(x: float, top: float, text: str, size: float, **style: Any) -> None:
        into.text(x / width, top / height, text, fontsize=size, va="top", transform=into.transSubfigure, **style)

    def rule(x0: float, x1: float, at: float) -> None:
        into.add_artist(Line2D([x0 / width, x1 / width], [at / height] * 2, transform=into.transSubfigure,
                               color=RULE, linewidth=0.5))  # fmt: skip

    wrapped = [[[textwrap.fill(cell, WRAP) for cell in row] for row in table.rows] for table in section.tables]
    notes = (NOTE_SIZE * LEADING * len(section.notes)) if section.notes else 0.0
    size = CELL_SIZE  # a long section (a year of capacity) is set smaller, so that it stays on its page
    while size > SMALLEST and _tables_height(wrapped, size) + notes > y:
        size -= 0.25
    for table, cells in zip(section.tables, wrapped, strict=True):
        put(left, y, table.caption, CAPTION_SIZE, weight="bold")
        y -= CAPTION_SIZE * 1.6
        if not cells:
            put(left, y, "None.", size)
            y -= size * 2.5
            continue
        columns = [
            max(_width(name, size, bold=True), *(_width(line, size) for row in cells for line in row[i].split("\n")))
            + 2 * PAD
            for i, name in enumerate(table.columns)
        ]
        cell_size = size
        if sum(columns) > width - 2 * left:  # set smaller, so that the table fits across
            scale = max(SMALLEST / size, (width - 2 * left) / sum(columns))
            cell_size, columns = size * scale, [c * scale for c in columns]
        starts = [left + sum(columns[:i]) for i in range(len(columns))]
        right, line = left + sum(columns), size * LEADING
        for i, name in enumerate(table.columns):
            numeric = i in table.numeric
            put(starts[i] + (columns[i] - PAD if numeric else PAD), y - 1, name, cell_size, weight="bold",
                ha="right" if numeric else "left")  # fmt: skip
        y -= line + 2
        rule(left, right, y)
        for row in cells:
            for i, cell in enumerate(row):
                numeric = i in table.numeric
                put(starts[i] + (columns[i] - PAD if numeric else PAD), y - 2, cell, cell_size,
                    ha="right" if numeric else "left", linespacing=LEADING)  # fmt: skip
            y -= _row_height(row, size)
            rule(left, right, y)
        y -= CAPTION_SIZE * 1.8
    if section.notes:
        put(left, y, "\n".join(section.notes), NOTE_SIZE)
