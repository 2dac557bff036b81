"""The console's chart store: a chart is named by its figures, drawn once when first asked for, and kept on
disk so that a restarted service (a new store over the same folder) answers it without drawing again."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from pmo_reporting.adapters.http import drawings
from pmo_reporting.adapters.http.chart_store import ChartStore, chart_key
from pmo_reporting.adapters.http.drawings import TITLES, Drawing
from pmo_servicekit.worker_process import WorkerTimeout

RAG = {"green": 2, "amber": 1, "red": 0, "unreported": 1}


def _files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in folder.iterdir()}


async def test_a_chart_is_drawn_when_asked_for_and_kept_across_a_restart(tmp_path: Path) -> None:
    # Given a page that ordered a chart
    store = ChartStore(tmp_path)
    drawing = Drawing("rag_chart", (RAG,))
    key = store.order(drawing, "chart-rag")
    # then nothing is drawn until the chart is asked for
    assert _files(tmp_path) == {}
    # when it is asked for
    svg = await store.svg(key)
    # then it is the chart of those figures, with its accessible name, written to disk
    assert svg is not None and svg.startswith("<svg") and 'id="chart-rag"' in svg
    assert ElementTree.fromstring(svg).get("id") == "chart-rag"  # a well-formed image of its own (namespaces)
    assert f'<title id="chart-rag-title">{TITLES["rag_chart"]}</title>' in svg
    assert _files(tmp_path) == {f"{key}.svg": svg}
    # and a new store over the same folder (a restart) answers it without an order
    assert await ChartStore(tmp_path).svg(key) == svg
    store.close()


async def test_other_figures_or_another_place_make_another_chart(tmp_path: Path) -> None:
    store = ChartStore(tmp_path)
    same = chart_key(Drawing("rag_chart", (RAG,)), "chart-rag")
    assert chart_key(Drawing("rag_chart", (dict(RAG),)), "chart-rag") == same
    assert chart_key(Drawing("rag_chart", ({**RAG, "red": 1},)), "chart-rag") != same
    assert chart_key(Drawing("rag_chart", (RAG,)), "chart-health") != same
    # a key nobody ordered is no chart
    assert await store.svg("0" * 40) is None
    store.close()


async def test_the_oldest_charts_on_disk_go_past_the_limit(tmp_path: Path) -> None:
    # Given a store that keeps two charts on disk
    store = ChartStore(tmp_path, on_disk=2)
    keys = [store.order(Drawing("rag_chart", ({**RAG, "red": red},)), "chart-rag") for red in range(3)]
    # when three are drawn, one after another
    for key in keys:
        assert await store.svg(key) is not None
    # then the two latest are on disk, the first is not
    assert set(_files(tmp_path)) == {f"{key}.svg" for key in keys[1:]}
    store.close()


async def test_a_drawing_that_timed_out_answers_503_and_is_drawn_when_asked_again(tmp_path: Path) -> None:
    # Given a drawing process that cannot finish in time (a time limit shorter than its start)
    drawings.DRAWER.close()
    drawings.DRAWER._timeout_seconds = 0.001
    store = ChartStore(tmp_path)
    try:
        key = store.order(Drawing("rag_chart", (RAG,)), "chart-rag")
        # when the chart is asked for, the request fails as unavailable (503), and nothing is written
        with pytest.raises(WorkerTimeout) as raised:
            await store.svg(key)
        assert raised.value.status == 503 and _files(tmp_path) == {}
        # then, the process healthy again, the same chart is drawn when asked again (the failure is not kept)
        drawings.DRAWER._timeout_seconds = None
        svg = await store.svg(key)
        assert svg is not None and 'id="chart-rag"' in svg and _files(tmp_path) == {f"{key}.svg": svg}
    finally:
        drawings.DRAWER._timeout_seconds = None
        store.close()
