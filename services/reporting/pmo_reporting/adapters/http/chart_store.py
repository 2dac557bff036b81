"""The console's charts as resources of their own, so that a page's first paint never waits for a drawing.

A page names each chart by a key: a hash of the chart's function, its element id and the figures it draws
(`ChartStore.order`), and is sent at once with an `<img>` to `/console/charts/{key}.svg` where the chart
goes (and its table beside it, as before). The browser asks for the chart while it shows the page; only
then is it drawn, off the event loop (`ChartStore.svg`), unless it was drawn before for the same figures.

The same figures give the same key, hence the same SVG: the answer is immutable (an ETag, cached by the
browser for a year), kept in memory (the last `KEPT`) and written to `<data dir>/console-charts/` so that
it survives a restart. The board pack's HTML takes its inline SVG from the same store.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from pmo_reporting.adapters.http import drawings
from pmo_reporting.adapters.http.drawings import Drawing

#: Charts kept in memory (their SVG text, tens of KiB each); older ones are read back from disk.
KEPT = 512
#: Charts kept on disk: the oldest are removed past this many (about 20 KiB each: some 40 MiB; the
#: Kubernetes pod's /tmp, where $PMO_DATA_DIR is, holds 256 MiB).
ON_DISK = 2000
#: Part of every key: a change in how charts are drawn must not serve an old drawing (bump it then).
DRAWING_VERSION = "3"
#: Threads waiting for drawings: the drawing itself is done by the one drawing process (`drawings`), so the
#: service process never loads matplotlib and a drawing does not share its interpreter with a page.
WORKERS = 1
#: Length of a key (hex digits of a SHA-256).
KEY_LENGTH = 40
_KEY = re.compile(f"[0-9a-f]{{{KEY_LENGTH}}}")


def is_key(text: str) -> bool:
    """Whether `text` can be a chart's key: lowercase hex of `KEY_LENGTH` digits. Only such a name reaches the
    disk (not merely `str.isalnum`, which takes any script's letters and digits: 64 of them can be a file
    name too long for the file system)."""
    return _KEY.fullmatch(text) is not None


def chart_key(drawing: Drawing, chart_id: str) -> str:
    """The chart's name: the same function, id and figures give the same key (and the same SVG)."""
    figures = json.dumps(drawing.figures, sort_keys=True, default=str, separators=(",", ":"))
    text = "\0".join((DRAWING_VERSION, drawings.CHARTS, drawing.draw, chart_id, figures))
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


class ChartStore:
    """Drawings ordered by pages and the SVG they gave: in memory, on disk (`folder`, when given)."""

    def __init__(self, folder: Path | None, kept: int = KEPT, on_disk: int = ON_DISK) -> None:
        self._folder = folder
        self._kept = kept
        self._on_disk = on_disk
        self._written = 0
        self._ordered: OrderedDict[str, tuple[Drawing, str]] = OrderedDict()
        self._drawings: OrderedDict[str, Future[str]] = OrderedDict()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="chart")
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def order(self, drawing: Drawing, chart_id: str) -> str:
        """The chart's key, remembered with its drawing (unless its SVG is on disk already)."""
        key = chart_key(drawing, chart_id)
        drawings.drawing_process()  # started (and warmed up) while the page is sent, if it was not
        with self._lock:
            if key in self._drawings:
                self._drawings.move_to_end(key)
                return key
            path = self._path(key)
            if path is None or not path.exists():
                self._ordered[key] = (drawing, chart_id)
                self._ordered.move_to_end(key)
                while len(self._ordered) > self._kept:
                    self._ordered.popitem(last=False)
        return key

    async def svg(self, key: str) -> str | None:
        """The chart's SVG, drawn now if it was only ordered (or waited for, if under way), or None for a key
        never ordered. Drawing starts when the chart is asked for, not when its page is rendered: the page's
        own work does not share the interpreter with a drawing."""
        drawn_now: tuple[Drawing, str] | None = None
        with self._lock:
            drawing = self._drawings.get(key)
            if drawing is None and key in self._ordered:
                drawn_now = self._ordered.pop(key)
                drawing = self._executor.submit(self._draw, key, *drawn_now)
                self._keep(key, drawing)
        if drawing is not None:
            if drawn_now is not None:  # outside the lock: a future already done runs its callback here
                drawing.add_done_callback(functools.partial(self._forget_failed, key, drawn_now))
            return await asyncio.wrap_future(drawing)
        path = self._path(key)
        if path is None or not path.exists():
            return None
        text = await asyncio.to_thread(path.read_text, "utf-8")
        done: Future[str] = Future()
        done.set_result(text)
        with self._lock:
            self._keep(key, done)
        return text

    def _forget_failed(self, key: str, order: tuple[Drawing, str], drawing: Future[str]) -> None:
        """A drawing that failed (its process timed out or died) is not kept: asked again, it is drawn again."""
        if drawing.cancelled() or drawing.exception() is None:
            return
        with self._lock:
            if self._drawings.get(key) is drawing:
                del self._drawings[key]
                self._ordered[key] = order

    def _keep(self, key: str, drawing: Future[str]) -> None:
        self._drawings[key] = drawing
        while len(self._drawings) > self._kept:
            self._drawings.popitem(last=False)

    async def inline(self, drawing: Drawing, chart_id: str) -> str:
        """The chart's SVG for a self-contained page (the board pack's HTML)."""
        svg = await self.svg(self.order(drawing, chart_id))
        assert svg is not None
        return svg

    def _path(self, key: str) -> Path | None:
        return None if self._folder is None or not is_key(key) else self._folder / f"{key}.svg"

    def _draw(self, key: str, drawing: Drawing, chart_id: str) -> str:
        figures = json.loads(json.dumps(drawing.figures, default=str))  # as a key sees them: JSON values
        svg = drawings.chart_svg(drawing, tuple(figures), chart_id)
        path = self._path(key)
        if path is not None:  # written whole, then renamed: a reader never sees half a chart
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(svg)
            os.replace(temporary, path)
            self._written += 1
            if self._written % max(1, self._on_disk // 10) == 0:
                self._prune(path.parent)
        return svg

    def _prune(self, folder: Path) -> None:
        """Remove the oldest charts past `on_disk` (a page ordering one again draws it again)."""
        charts_on_disk = sorted(folder.glob("*.svg"), key=lambda p: p.stat().st_mtime)
        for old in charts_on_disk[: max(0, len(charts_on_disk) - self._on_disk)]:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_STORES: dict[Path | None, ChartStore] = {}
_STORES_LOCK = threading.Lock()


def store_for(data_dir: Path | None) -> ChartStore:
    """The process's store for a service's data folder (`<data dir>/console-charts`)."""
    folder = None if data_dir is None else data_dir / "console-charts"
    with _STORES_LOCK:
        if folder not in _STORES:
            _STORES[folder] = ChartStore(folder)
        return _STORES[folder]
