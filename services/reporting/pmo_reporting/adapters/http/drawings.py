"""What the console and the board pack ask to have drawn, and the one small process that draws it.

matplotlib and its fonts take some 50 MB of a process's memory (and most of its import time). The service
process never imports them: a chart is named here by its function in `charts` and the figures it draws
(`Drawing`), a board pack is plain data (`Pack`), and both are drawn by a process pool of one worker
(`drawing_process`, a `pmo_servicekit.worker_process.WorkerProcess`), started when the first chart is ordered
or the first PDF asked for, started again if it dies, and gone after PMO_WORKER_IDLE_SECONDS (default 10
minutes) without a drawing. Only that worker imports `charts` and `board_pack_pdf`.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pmo_servicekit.worker_process import WorkerProcess

#: The module whose functions draw the charts (imported by the drawing process only).
CHARTS = "pmo_reporting.adapters.http.charts"
#: The module that sets the board pack's PDF (imported by the drawing process only).
PDF_PAGES = "pmo_reporting.adapters.http.board_pack_pdf"

#: Each chart function's title: its SVG's accessible name, and the page's <img> alternative text.
TITLES = {
    "budget_chart": "Envelope, committed and actual cost, per fiscal period",
    "ring_fence_chart": "Ring-fence, drawn and current budget, per fiscal period",
    "totals_chart": "Envelope, committed and actual cost, all periods",
    "rag_chart": "Active projects by overall RAG status",
    "bubble_chart": "Candidates: value score against cost, bubble size the risk criterion score",
    "funnel_chart": "Pipeline funnel: proposals per stage",
    "s_curve": "Earned value S-curve: PV, EV and AC per period end",
    "heatmap": "Capacity heatmap: utilisation per group and period",
    "risk_heatmap": "Risk heatmap: open risks per probability and impact",
    "benefits_map_chart": "Programme benefits: planned and realised to date, per benefit",
    "dependency_graph": "Dependency map: an arrow from each provider (a project, or a programme milestone in italics) "
    "to the project that needs it; at risk in red",
}


@dataclass(frozen=True)
class Drawing:
    """A chart function of `charts`, by name, and the figures it draws (JSON values, as the reports give them)."""

    draw: str
    figures: tuple[Any, ...]

    def __post_init__(self) -> None:
        if self.draw not in TITLES:
            raise ValueError(f"no chart function {self.draw!r}")

    @property
    def title(self) -> str:
        return TITLES[self.draw]


@dataclass(frozen=True)
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    #: Column indexes that hold figures (right-aligned).
    numeric: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    tables: list[Table]
    chart: Drawing | None = None
    #: The chart's element id: the console page's id for the same chart, so that the pack's HTML reuses the
    #: console's drawing of the same figures (`chart_store`), and the console reuses the pack's.
    chart_id: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pack:
    portfolio_id: str
    name: str
    stamp: str
    generated_at: str
    sections: list[Section]


#: The drawing process: started when the first chart is ordered or the first PDF asked for, warmed up with
#: matplotlib, fonts and writers while the page is sent; gone after PMO_WORKER_IDLE_SECONDS without a drawing.
DRAWER = WorkerProcess("drawing", warm_up=(CHARTS, "warm_up"))


def drawing_process() -> ProcessPoolExecutor:
    """The pool of one drawing process, started (spawned: nothing of this process is inherited) on first use."""
    return DRAWER.pool()


def in_drawing_process(module: str, function: str, *args: Any) -> Any:
    """`module.function(*args)` run by the drawing process (blocks the calling thread until it is done); a
    drawing process that died (or left, idle) is replaced, and the call made once more."""
    return DRAWER.call(module, function, *args)


def chart_svg(drawing: Drawing, figures: tuple[Any, ...], chart_id: str) -> str:
    """The chart drawn as inline SVG (by the drawing process)."""
    return str(in_drawing_process(CHARTS, "draw_svg", drawing.draw, figures, chart_id))


async def pdf(pack: Pack) -> bytes:
    """The board pack as PDF (set by the drawing process; the event loop waits in a thread)."""
    return bytes(await asyncio.to_thread(in_drawing_process, PDF_PAGES, "render_pdf", pack))


def close() -> None:
    """Stop the drawing process (it is started again on next use)."""
    DRAWER.close()
