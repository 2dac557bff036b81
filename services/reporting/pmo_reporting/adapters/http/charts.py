"""Charts as vectors, drawn by one library (matplotlib, object API, no pyplot state): inline SVG for the
console and the HTML board pack, the same figures as PDF pages for the board pack. Imported only by the
drawing process (`drawings`): the service process names a chart by its function here and never loads matplotlib.

Every chart here is drawn from a report's JSON figures; the page shows the same figures as a table beside it.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.colors import BoundaryNorm, LinearSegmentedColormap, ListedColormap
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator

from pmo_reporting.adapters.http.drawings import TITLES, Drawing

#: Fonts with CJK glyphs the PDF falls back to, when installed (DejaVu Sans, which matplotlib ships, has none).
CJK_FONTS = ("Noto Sans CJK JP", "Droid Sans Fallback")


def chart_fonts() -> list[str]:
    """DejaVu Sans (Latin, Greek, Cyrillic, ...), then a CJK font for the glyphs it lacks when the system has one
    (fonts-noto-cjk, fonts-droid-fallback): every name renders."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in CJK_FONTS if name in installed)]


#: The one style of every chart and board-pack page, set for the whole process when this module is imported
#: (so that drawings in several threads never see another's `rc_context` come and go). Text stays text in the
#: SVG (searchable, scalable, no font paths), ids are stable between renders; the PDF embeds its fonts as
#: Type 3 subsets (glyph outlines with their names: extracted and copied as text), which is much faster to
#: write than Type 42 (fontTools subsetting the TrueType font on every pack). Text is never mathtext: every
#: string drawn is data (a portfolio's name, a proposal's title), and with `text.parse_math` on, a pair of `$`
#: in it was typeset as math or, unparsable, failed the whole board pack (a 500).
FONTS = chart_fonts()
STYLE: dict[str, Any] = {
    "text.parse_math": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "pmo-console",
    "pdf.fonttype": 3,
    "font.family": FONTS,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
matplotlib.rcParams.update(STYLE)  # type: ignore[arg-type]
#: RAG colours with enough contrast on white (and every RAG chart also labels its bars).
RAG_COLOURS = {"green": "#1b7837", "amber": "#b35806", "red": "#b2182b", "unreported": "#6b6b6b"}
SERIES = ("#2166ac", "#b35806", "#1b7837", "#762a83")
#: Risk score bands (probability x impact): low up to 4, medium up to 9, high up to 14, severe above.
RISK_BANDS = ListedColormap(["#d9f0d3", "#fee090", "#fdae61", "#d73027"])
RISK_NORM = BoundaryNorm([0.5, 4.5, 9.5, 14.5, 25.5], RISK_BANDS.N)
UTILISATION = LinearSegmentedColormap.from_list("utilisation", ["#f7fbff", "#6baed6", "#fdae61", "#b2182b"])


def _styled() -> AbstractContextManager[None]:
    """The console's chart style, for drawing and saving: the process's own (`STYLE`), whoever changed it."""
    return matplotlib.rc_context(STYLE)  # type: ignore[arg-type]


_XML_PROLOGUE = re.compile(r"<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*|<metadata>.*?</metadata>\s*", re.S)
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def number(text: str | None) -> float:
    """A report figure (a Decimal string, or null when undefined) as a plotting coordinate (null: 0)."""
    try:
        return float(Decimal(text)) if text is not None else 0.0
    except InvalidOperation:
        return 0.0


#: Where a chart is drawn: a figure of its own (SVG) or a part of a board-pack page (PDF).
Canvas = Figure | SubFigure


@dataclass(frozen=True)
class Chart:
    """A drawn figure: its title (the SVG's accessible name) and the matplotlib figure."""

    title: str
    figure: Canvas

    def svg(self, chart_id: str) -> str:
        """Inline SVG: no XML prologue, DOCTYPE or metadata, an accessible name, the figure's own size."""
        buffer = io.StringIO()
        root = self.figure if isinstance(self.figure, Figure) else self.figure.figure
        with _styled():
            root.savefig(buffer, format="svg", metadata={"Date": None})
        text = _XML_PROLOGUE.sub("", buffer.getvalue())
        opening = _SVG_OPEN.search(text)
        assert opening is not None
        tag = opening.group(0)
        width = re.search(r'width="([^"]+)"', tag)
        height = re.search(r'height="([^"]+)"', tag)
        view_box = re.search(r'viewBox="([^"]+)"', tag)
        title = _escape(self.title)
        new_tag = (
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" role="img" '
            f'aria-labelledby="{chart_id}-title" '
            f'id="{chart_id}" class="chart" width="{width.group(1) if width else "100%"}" '
            f'height="{height.group(1) if height else "auto"}" viewBox="{view_box.group(1) if view_box else ""}">'
            f'<title id="{chart_id}-title">{title}</title>'
        )
        return _scoped_ids(text.replace(tag, new_tag, 1), chart_id)


def draw_svg(name: str, figures: tuple[Any, ...], chart_id: str) -> str:
    """The chart function `name` (a key of `TITLES`) drawn with `figures`, as inline SVG (in the drawing process)."""
    if name not in TITLES:
        raise ValueError(f"no chart function {name!r}")
    draw: Callable[..., Chart] = globals()[name]
    return draw(*figures).svg(chart_id)


def draw_on(drawing: Drawing, into: Canvas | None = None) -> Chart:
    """A drawing on a canvas (a board-pack page), or on a figure of its own."""
    if drawing.draw not in TITLES:
        raise ValueError(f"no chart function {drawing.draw!r}")
    draw: Callable[..., Chart] = globals()[drawing.draw]
    return draw(*drawing.figures, into=into)


def warm_up() -> None:
    """Load what the first drawing would otherwise wait for (matplotlib's modules, the fonts, their glyphs,
    the SVG and PDF writers): done once before the service says it is ready."""
    figure = _figure(2, 1)
    axes = figure.add_subplot()
    axes.bar(["a"], [1])
    axes.set_title("Šť Дм 0123456789", weight="bold")
    figure.text(0.1, 0.1, "warm")
    figure.savefig(io.StringIO(), format="svg")
    figure.savefig(io.BytesIO(), format="pdf")


_ID = re.compile(r'\bid="([^"]+)"')


def _scoped_ids(svg: str, prefix: str) -> str:
    """Prefix the figure's element ids (axes_1, clip paths, ...) so that several charts share a page."""
    ids = {i for i in _ID.findall(svg) if not i.startswith(prefix)}
    if not ids:
        return svg
    names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    svg = re.sub(rf'\bid="({names})"', rf'id="{prefix}-\1"', svg)
    return re.sub(rf'(["(])#({names})([")])', rf"\1#{prefix}-\2\3", svg)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _figure(width: float = 6.4, height: float = 3.2) -> Figure:
    with _styled():
        return Figure(figsize=(width, height), layout="constrained")


def budget_chart(budget: Sequence[dict[str, str]], currency: str | None, into: Canvas | None = None) -> Chart:
    """Envelope, committed and actual per fiscal period, grouped bars."""
    with _styled():
        figure = into or _figure()
        axes = figure.add_subplot()
        periods = [row["fiscal_period"] for row in budget]
        positions = range(len(periods))
        width = 0.27
        for offset, key, colour in ((-width, "envelope", SERIES[0]), (0.0, "committed", SERIES[1]),
                                    (width, "actual", SERIES[2])):  # fmt: skip
            axes.bar([p + offset for p in positions], [number(r.get(key)) for r in budget], width,
                     label=key, color=colour)  # fmt: skip
        axes.set_xticks(list(positions), periods)
        axes.set_ylabel(f"amount ({currency or 'currency'})")
        axes.legend(frameon=False)
        axes.ticklabel_format(axis="y", style="plain")
    return Chart(TITLES[budget_chart.__name__], figure)


def ring_fence_chart(rows: Sequence[dict[str, str]], currency: str | None, into: Canvas | None = None) -> Chart:
    """A programme's ring-fence, what is drawn on it and its projects' current budget, per fiscal period."""
    with _styled():
        figure = into or _figure()
        axes = figure.add_subplot()
        periods = [row["fiscal_period"] for row in rows]
        positions = range(len(periods))
        width = 0.27
        for offset, key, colour in ((-width, "ring_fence", SERIES[0]), (0.0, "drawn", SERIES[1]),
                                    (width, "current_budget", SERIES[2])):  # fmt: skip
            axes.bar([p + offset for p in positions], [number(r.get(key)) for r in rows], width,
                     label=key.replace("_", " "), color=colour)  # fmt: skip
        axes.set_xticks(list(positions), periods)
        axes.set_ylabel(f"amount ({currency or 'currency'})")
        axes.legend(frameon=False)
        axes.ticklabel_format(axis="y", style="plain")
        if not rows:
            axes.text(0.5, 0.5, "no ring-fence", ha="center", va="center", transform=axes.transAxes)
    return Chart(TITLES[ring_fence_chart.__name__], figure)


def benefits_map_chart(benefits: Sequence[dict[str, Any]], into: Canvas | None = None) -> Chart:
    """A programme's benefits map: planned and realised to date per programme benefit, paired bars."""
    with _styled():
        figure = into or _figure(height=max(1.8, 0.6 * len(benefits) + 1.2))
        axes = figure.add_subplot()
        names = [textwrap.shorten(str(b["description"]), 36, placeholder="…") for b in benefits]
        positions = range(len(names))
        for offset, key, colour in ((-0.2, "planned_to_date", SERIES[0]), (0.2, "realised_to_date", SERIES[2])):
            bars = axes.barh([p + offset for p in positions], [number(b.get(key)) for b in benefits], 0.4,
                             label=key.replace("_", " "), color=colour)  # fmt: skip
            axes.bar_label(bars, labels=[str(b.get(key) or "-") for b in benefits], padding=3, fontsize=8)
        axes.set_yticks(list(positions), names)
        axes.invert_yaxis()
        axes.set_xlabel("amount (each benefit's unit)")
        axes.xaxis.set_major_locator(MaxNLocator(4))
        axes.ticklabel_format(axis="x", style="plain")
        if benefits:
            axes.legend(frameon=False)
        else:
            axes.text(0.5, 0.5, "no programme benefit", ha="center", va="center", transform=axes.transAxes)
    return Chart(TITLES[benefits_map_chart.__name__], figure)


def totals_chart(totals: dict[str, str], currency: str | None, into: Canvas | None = None) -> Chart:
    """Envelope, committed and actual over all periods."""
    with _styled():
        figure = into or _figure(height=2.4)
        axes = figure.add_subplot()
        names = ["envelope", "committed", "actual"]
        bars = axes.barh(names, [number(totals[n]) for n in names], color=SERIES[:3])
        axes.bar_label(bars, labels=[totals[n] for n in names], padding=3)
        axes.invert_yaxis()
        axes.set_xlabel(f"amount ({currency or 'currency'})")
        axes.ticklabel_format(axis="x", style="plain")
    return Chart(TITLES[totals_chart.__name__], figure)


def rag_chart(rag: dict[str, int], into: Canvas | None = None) -> Chart:
    with _styled():
        figure = into or _figure(height=2.4)
        axes = figure.add_subplot()
        names = ["green", "amber", "red", "unreported"]
        bars = axes.bar(names, [rag[n] for n in names], color=[RAG_COLOURS[n] for n in names])
        axes.bar_label(bars, padding=2)
        axes.set_ylabel("active projects")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return Chart(TITLES[rag_chart.__name__], figure)


def bubble_chart(candidates: Sequence[dict[str, object]], into: Canvas | None = None) -> Chart:
    """Value score (x axis) by cost (y axis) by risk criterion score (bubble size) of the scored candidates."""
    with _styled():
        figure = into or _figure(height=3.6)
        axes = figure.add_subplot()
        scored = [c for c in candidates if c.get("weighted_score") is not None]
        for index, candidate in enumerate(scored):
            risk = number(str(candidate["risk"])) if candidate.get("risk") is not None else 1.0
            axes.scatter(
                number(str(candidate["weighted_score"])),
                number(str(candidate["cost"])),
                s=120 * max(risk, 0.5),
                alpha=0.6,
                color=SERIES[index % len(SERIES)],
                edgecolors="black",
                linewidths=0.5,
            )
            axes.annotate(str(candidate.get("title") or candidate["id"]),
                          (number(str(candidate["weighted_score"])), number(str(candidate["cost"]))),
                          textcoords="offset points", xytext=(6, 4), fontsize=8)  # fmt: skip
        axes.set_xlabel("weighted score at decision")
        axes.set_ylabel("cost")
        axes.ticklabel_format(axis="y", style="plain")
        if not scored:
            axes.text(0.5, 0.5, "no scored candidate yet", ha="center", va="center", transform=axes.transAxes)
    return Chart(TITLES[bubble_chart.__name__], figure)


def funnel_chart(stages: Sequence[dict[str, object]], into: Canvas | None = None) -> Chart:
    with _styled():
        figure = into or _figure(height=3.0)
        axes = figure.add_subplot()
        names = [str(s["stage"]) for s in stages]
        counts = [int(str(s["count"])) for s in stages]
        bars = axes.barh(names, counts, color=SERIES[0])
        axes.bar_label(bars, padding=2)
        axes.invert_yaxis()
        axes.set_xlabel("proposals")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return Chart(TITLES[funnel_chart.__name__], figure)


def s_curve(evm: Sequence[dict[str, str]], into: Canvas | None = None) -> Chart:
    """Planned value, earned value and actual cost over the status reports' period ends."""
    with _styled():
        figure = into or _figure()
        axes = figure.add_subplot()
        ends = [str(p["period_end"]) for p in evm]
        for key, label, colour in (("pv", "PV", SERIES[0]), ("ev", "EV", SERIES[2]), ("ac", "AC", SERIES[1])):
            axes.plot(ends, [number(p[key]) for p in evm], marker="o", label=label, color=colour)
        if evm:
            axes.axhline(number(evm[-1]["bac"]), linestyle="--", color="#444444", label="BAC")
        else:
            axes.text(0.5, 0.5, "no status report yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_ylabel("cumulative amount")
        axes.legend(frameon=False)
        axes.ticklabel_format(axis="y", style="plain")
    return Chart(TITLES[s_curve.__name__], figure)


def heatmap(rows: Sequence[dict[str, object]], into: Canvas | None = None) -> Chart:
    """Utilisation per group (rows) and period (columns); a cell is labelled with its utilisation."""
    groups = sorted({str(r["group"]) for r in rows})
    periods = sorted({str(r["period"]) for r in rows})
    values = {(str(r["group"]), str(r["period"])): number(_text(r.get("utilisation"))) for r in rows}
    with _styled():
        figure = into or _figure(width=max(4.0, 0.9 * len(periods) + 2), height=max(1.8, 0.45 * len(groups) + 1.2))
        axes = figure.add_subplot()
        grid = [[values.get((g, p), 0.0) for p in periods] for g in groups]
        if groups and periods:
            image = axes.imshow(grid, cmap=UTILISATION, vmin=0, vmax=1.5, aspect="auto")
            for y, group in enumerate(groups):
                for x, period in enumerate(periods):
                    value = values.get((group, period))
                    label = "-" if value is None else f"{value:.0%}"
                    colour = "white" if (value or 0) > 1.0 else "black"
                    axes.text(x, y, label, ha="center", va="center", fontsize=8, color=colour)
            figure.colorbar(image, ax=axes, label="utilisation")
        else:
            axes.text(0.5, 0.5, "no capacity in the window", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks(range(len(periods)), periods, rotation=45, ha="right")
        axes.set_yticks(range(len(groups)), groups)
        axes.spines[["left", "bottom"]].set_visible(False)
    return Chart(TITLES[heatmap.__name__], figure)


def risk_heatmap(cells: Sequence[dict[str, object]], into: Canvas | None = None) -> Chart:
    """The 5x5 grid: probability (rows, 5 on top) by impact (columns), coloured by score band, with counts."""
    counts = {(int(str(c["probability"])), int(str(c["impact"]))): int(str(c["count"])) for c in cells}
    with _styled():
        figure = into or _figure(width=4.4, height=3.6)
        axes = figure.add_subplot()
        scores = [[p * i for i in range(1, 6)] for p in range(5, 0, -1)]
        axes.imshow(scores, cmap=RISK_BANDS, norm=RISK_NORM, aspect="equal")
        for row, p in enumerate(range(5, 0, -1)):
            for column, i in enumerate(range(1, 6)):
                count = counts.get((p, i), 0)
                axes.text(column, row, str(count) if count else "", ha="center", va="center", fontsize=11,
                          weight="bold", color="white" if p * i > 14 else "black")  # fmt: skip
        axes.set_xticks(range(5), [str(i) for i in range(1, 6)])
        axes.set_yticks(range(5), [str(p) for p in range(5, 0, -1)])
        axes.set_xlabel("impact")
        axes.set_ylabel("probability")
        axes.spines[["left", "bottom"]].set_visible(False)
    return Chart(TITLES[risk_heatmap.__name__], figure)


def _layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each project's column: providers left of the projects depending on them (longest path; a cycle stops)."""
    layer = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):
        moved = False
        for dependent, provider in edges:
            if layer[dependent] < layer[provider] + 1 <= len(nodes):
                layer[dependent] = layer[provider] + 1
                moved = True
        if not moved:
            break
    return layer


def _node_key(project_id: object, milestone: object) -> str:
    """A node's key: the project's id, or the milestone's programme and tranche."""
    if isinstance(milestone, dict):
        return f"milestone {milestone.get('programme_id')} {milestone.get('tranche_id')}"
    return str(project_id)


def dependency_graph(
    nodes: Sequence[dict[str, object]], edges: Sequence[dict[str, object]], into: Canvas | None = None
) -> Chart:
    """Projects (and programme milestones, in italics) as boxes in columns (providers left), an arrow from each
    provider to the project that needs it; at-risk dependencies and the projects depending on them in red,
    dashed."""
    ids = [_node_key(n.get("project_id"), n.get("milestone")) for n in nodes]
    pairs = [(str(e["dependent_project_id"]), _node_key(e.get("provider_project_id"), e.get("provider_milestone")))
             for e in edges]  # fmt: skip
    layer = _layers(ids, [(d, p) for d, p in pairs if d in ids and p in ids])
    columns: dict[int, list[str]] = {}
    for project_id in ids:
        columns.setdefault(layer[project_id], []).append(project_id)
    place = {pid: (column, -row) for column, members in columns.items() for row, pid in enumerate(members)}
    tallest = max((len(m) for m in columns.values()), default=1)
    with _styled():
        figure = into or _figure(width=max(4.0, 2.6 * len(columns) + 1), height=max(1.8, 0.9 * tallest + 0.8))
        axes = figure.add_subplot()
        axes.axis("off")
        boxes = {}
        for node, key in zip(nodes, ids, strict=True):
            at_risk = bool(node.get("at_risk"))
            label = textwrap.shorten(str(node.get("title") or key), 28, placeholder="…")
            boxes[key] = axes.text(
                *place[key], label + ("\n(at risk)" if at_risk else ""), ha="center", va="center", fontsize=8,
                style="italic" if node.get("milestone") else "normal",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": "#fde0dd" if at_risk else "#eef3f8",
                      "edgecolor": RAG_COLOURS["red"] if at_risk else "#2166ac", "linestyle": "--" if at_risk else "-"},
            )  # fmt: skip
        for edge, (dependent, provider) in zip(edges, pairs, strict=True):
            if dependent in boxes and provider in boxes:
                colour, style = (RAG_COLOURS["red"], "--") if edge.get("at_risk") else ("#444444", "-")
                arrow = {"arrowstyle": "-|>", "color": colour, "linestyle": style, "shrinkA": 4, "shrinkB": 4}
                # from the provider's right edge to the dependent's left edge
                axes.annotate("", xy=(0, 0.5), xycoords=boxes[dependent], xytext=(1, 0.5),
                              textcoords=boxes[provider], arrowprops=arrow)  # fmt: skip
        if not nodes:
            axes.text(0.5, 0.5, "no dependency registered", ha="center", va="center", transform=axes.transAxes)
        else:
            axes.set_xlim(-0.7, max(columns) + 0.7)
            axes.set_ylim(-tallest + 0.4, 0.6)
    return Chart(TITLES[dependency_graph.__name__], figure)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
