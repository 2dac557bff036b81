"""The board pack's PDF embeds its font (DejaVu Sans, as a Type 3 subset with glyph names): names in any script the
font covers render and come back out by text extraction, and the glyphs are there (not boxes)."""

from __future__ import annotations

import io
import warnings
from typing import Any

from pypdf import PdfReader

from pmo_reporting.adapters.http.board_pack_pdf import pdf_fonts, render_pdf
from pmo_reporting.adapters.http.charts import _escape, draw_svg
from pmo_reporting.adapters.http.drawings import Pack, Section, Table

NAMES = ["Zoë Šťastná", "Łódź Ørsted Þór", "Дмитрий Шостакович", "Αθηνά Παπαδοπούλου"]
CJK = "東京"


def _pack(*names: str) -> Pack:
    table = Table("Board", ["Member", "Role"], [[name, "sponsor"] for name in names])
    return Pack("pf-1", names[0], "As it stood at 2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z",
                [Section("cover", "Contents", [table], notes=[f"Chair: {names[-1]}"])])  # fmt: skip


def _fonts(pdf: bytes) -> list[str]:
    resources: Any = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    return [str(font.get_object()["/BaseFont"]) for font in resources.get_object()["/Font"].values()]


def _missing_glyphs(*names: str) -> tuple[bytes, list[str]]:
    """The PDF, and matplotlib's warnings about characters no font of the PDF has a glyph for."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdf = render_pdf(_pack(*names))
    return pdf, [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_names_outside_latin_1_render_and_are_extracted_from_the_pdf() -> None:
    pdf, missing = _missing_glyphs(*NAMES)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for name in NAMES:
        assert name in text
    assert f"{NAMES[0]}: Contents" in text and f"Chair: {NAMES[-1]}" in text
    assert missing == []  # every glyph is in the embedded font
    fonts = _fonts(pdf)
    assert fonts and all("DejaVuSans" in font for font in fonts) and not any("Helvetica" in f for f in fonts)


def test_cjk_names_are_drawn_with_a_cjk_font_when_installed_and_kept_as_text_always() -> None:
    pdf, missing = _missing_glyphs(CJK, "Москва")
    assert CJK in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    # DejaVu Sans has no CJK glyph: without a CJK font (fonts-noto-cjk) matplotlib says which are missing.
    assert bool(missing) == (pdf_fonts() == ["DejaVu Sans"])


#: Names holding matplotlib mathtext (review of session 11, F3): unparsable (a 500 for the whole pack), nested
#: past the recursion limit, or parsable (typeset as math: wrong text).
MATHTEXT = [r"Budget $\frac{$ plan", "Costs $" + "{" * 3000 + "$", "$5 and $6", r"$\alpha$ release"]


def test_names_with_dollar_signs_are_printed_as_written() -> None:
    for name in MATHTEXT:
        pdf = render_pdf(_pack(name, "Chair " + name))
        text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
        assert " ".join(name.split())[:200] in text, name[:40]


def test_chart_labels_with_dollar_signs_are_drawn_as_written() -> None:
    for name in MATHTEXT:
        candidates = [{"id": "c-1", "title": name, "weighted_score": "3.5", "cost": "1000", "risk": "2"}]
        svg = draw_svg("bubble_chart", (candidates,), "chart-1")
        assert _escape(name)[:200] in svg, name[:40]
