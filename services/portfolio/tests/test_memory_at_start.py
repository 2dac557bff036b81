"""The portfolio service's process never imports scipy (some 54 MB, and HiGHS's working memory, issue 17): its
scenarios are optimised by a solver process (`scenarios.queries.SOLVER`); numpy only when a pairwise matrix is
first weighed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_the_portfolio_service_process_optimises_scenarios_without_importing_scipy(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from decimal import Decimal
        from pmo_events.runtime import KafkaSettings
        from pmo_portfolio.bootstrap import PORTFOLIO
        from pmo_portfolio.scenarios.domain.optimiser import ScenarioOption, ScenarioQuestion
        from pmo_portfolio.scenarios.queries import OPTIMISER, SOLVER
        from pmo_servicekit.app import create_app
        from pmo_servicekit.settings import ServiceSettings

        def loaded():
            return sorted(m for m in ("numpy", "scipy") if m in sys.modules)

        async def main():
            url = "sqlite+aiosqlite:///" + {str(tmp_path / "portfolio.db")!r}
            app = create_app(PORTFOLIO, ServiceSettings(env="development", database_url=url), KafkaSettings())
            async with app.router.lifespan_context(app):
                print(loaded())
            option = ScenarioOption("c-1", 3.0, {{"FY27": Decimal(5)}})
            question = ScenarioQuestion((option,), {{"FY27": Decimal(10)}})
            answer = await SOLVER.run(OPTIMISER, "optimise", question)
            assert answer.selected == ("c-1",), answer
            points = await SOLVER.run(OPTIMISER, "frontier", question)
            assert [answer.selected for _, answer in points][0] == ("c-1",), points
            SOLVER.close()
            print(loaded())

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "[]"], done.stdout
