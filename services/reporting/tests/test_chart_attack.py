"""Hostile chart addresses (attack review of /console/charts/{key}.svg): whatever a signed-in reader puts
in a chart's name, the answer is a 4xx problem or the chart, never a 5xx, and nothing outside the chart
folder is read."""

from __future__ import annotations

import pytest

from pmo_devstack.html_checks import patient

from .test_api import reporting as reporting  # the fixture

pytestmark = pytest.mark.integration

HOSTILE = [
    "..%2F..%2Fetc%2Fpasswd.svg",
    "%2e%2e.svg",
    "..svg",
    ".svg",
    "%00.svg",
    "a%00b.svg",
    "0" * 65 + ".svg",
    "0" * 10_000 + ".svg",
    "\U0001d7d8" * 64 + ".svg",  # mathematical digit zero: alphanumeric to Python, 4 bytes a character on disk
    "\u0663" * 64 + ".svg",  # Arabic-Indic digit three
    "\uff41" * 64 + ".svg",  # fullwidth a
    "%2Fetc%2Fpasswd.svg",
    "abc.SVG",
    "abc.svg.svg",
    "abc",
]


async def test_no_chart_name_gives_a_server_error_or_reads_outside_the_store(reporting) -> None:
    (reporting.data_dir / "secret.svg").write_text("<svg>secret</svg>", "utf-8")
    async with patient(reporting, "vera", "viewer") as client:
        for name in [*HOSTILE, "..%2Fsecret.svg"]:
            answer = await client.get("/console/charts/" + name)
            assert 400 <= answer.status_code < 500, (name[:80], answer.status_code, answer.text[:300])
            assert "<svg>secret" not in answer.text
            assert answer.headers["content-type"].startswith("application/problem+json"), name[:80]
