"""Charts and the board pack's PDF are drawn by a process of their own (`drawings`): the service process never
imports matplotlib (some 50 MB of its memory), and a drawing process that died is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from pmo_reporting.adapters.http import drawings
from pmo_reporting.adapters.http.chart_store import ChartStore
from pmo_reporting.adapters.http.drawings import Drawing, Pack, Section, Table

RAG = {"green": 2, "amber": 1, "red": 0, "unreported": 1}


def test_the_service_process_draws_charts_and_the_pdf_without_importing_matplotlib(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        import pmo_reporting.bootstrap  # every router, as the service imports them
        from pmo_reporting.adapters.http.board_pack import render_pdf
        from pmo_reporting.adapters.http.chart_store import ChartStore
        from pmo_reporting.adapters.http.drawings import Drawing, Pack, Section, Table

        async def main():
            store = ChartStore(Path({str(tmp_path)!r}))
            svg = await store.svg(store.order(Drawing("rag_chart", ({RAG!r},)), "chart-rag"))
            assert svg.startswith("<svg") and 'id="chart-rag"' in svg
            section = Section("budget", "Budget", [Table("t", ["a"], [["1"]])], Drawing("rag_chart", ({RAG!r},)))
            pdf = await render_pdf(Pack("pf-1", "Portfolio", "now", "2026-11-29T00:00:00Z", [section]))
            assert pdf.startswith(b"%PDF")
            print("matplotlib" in sys.modules)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


async def test_a_drawing_process_that_died_is_replaced(tmp_path: Path) -> None:
    store = ChartStore(tmp_path)
    first = await store.svg(store.order(Drawing("rag_chart", (RAG,)), "chart-rag"))
    pool = drawings.drawing_process()
    (pid,) = [process.pid for process in pool._processes.values()]  # the pool's one worker
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    again = await store.svg(store.order(Drawing("rag_chart", ({**RAG, "red": 3},)), "chart-rag"))
    assert first is not None and again is not None and again != first
    assert drawings.drawing_process() is not pool
    pdf = await drawings.pdf(
        Pack("pf-1", "P", "now", "2026-11-29T00:00:00Z", [Section("a", "A", [Table("t", ["a"], [])])])
    )
    assert pdf.startswith(b"%PDF")
    store.close()
    drawings.close()


def test_the_drawing_process_ends_when_the_service_process_is_killed() -> None:
    script = (
        "import os\nfrom pmo_reporting.adapters.http import drawings\n"
        "print(drawings.in_drawing_process('os', 'getpid'), flush=True)\nos.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    worker = int(done.stdout.strip())
    for _ in range(100):
        try:
            if Path(f"/proc/{worker}/stat").read_text().split()[2] == "Z":  # exited, not reaped yet
                break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the drawing process outlived the service process")
