"""A started portfolio service has not imported numpy or scipy (some 54 MB of its memory, issue 17): the scenario
optimiser and the AHP weights import them when a scenario is first optimised or a pairwise matrix first weighed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_a_started_portfolio_service_imports_numpy_and_scipy_only_when_it_first_optimises(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from decimal import Decimal
        from pmo_events.runtime import KafkaSettings
        from pmo_portfolio.bootstrap import PORTFOLIO
        from pmo_portfolio.scenarios.domain.optimiser import ScenarioOption, ScenarioQuestion, optimise
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
            answer = optimise(ScenarioQuestion((option,), {{"FY27": Decimal(10)}}))
            assert answer.selected == ("c-1",), answer
            print(loaded())

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "['numpy', 'scipy']"], done.stdout
