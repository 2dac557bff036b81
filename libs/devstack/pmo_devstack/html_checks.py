"""Test support: offline checks of the console's and the board pack's HTML (BeautifulSoup): nothing
loaded from outside the service, and the accessibility rules a page can be checked for without a
browser (WCAG 2.2 A/AA, the structural part): language, title, one h1 and no skipped heading level, a
name for every chart (SVG role=img with a title), a label for every form control, unique ids, a header
cell or caption on every table, text on every link and button, no positive tabindex, and a table
after every chart."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import httpx
from bs4 import BeautifulSoup, Tag

from pmo_devstack.testing import RunningService

#: Attributes and CSS that make a browser fetch something.
_FETCHING = re.compile(
    r"""\b(?:src|href|action|formaction|poster|data|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//"""
    r"""|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import""",
    re.I,
)


class Page(BeautifulSoup):
    def table_rows(self, table_id: str) -> list[list[str]]:
        """The text of every body row of the table with this id."""
        table = self.find(id=table_id)
        assert isinstance(table, Tag), f"no table {table_id}"
        body = table.find("tbody") or table
        return [[c.get_text(" ", strip=True) for c in row.find_all(["th", "td"])] for row in body.find_all("tr")]

    def text_of(self, element_id: str, *, parent: bool = False) -> str:
        element = self.find(id=element_id)
        assert isinstance(element, Tag), f"no element {element_id}"
        return (element.parent if parent and element.parent else element).get_text(" ", strip=True)


def parse(html: str) -> Page:
    return Page(html, "html.parser")


def external_references(html: str) -> list[str]:
    """Everything in the page that would make a browser load from another origin (scripts, styles, images,
    fonts, frames, form targets), whatever the element."""
    return [m.group(0) for m in _FETCHING.finditer(html)] + (["<script"] if "<script" in html.lower() else [])


def accessibility_problems(page: BeautifulSoup) -> list[str]:
    problems = []
    html = page.find("html")
    if not isinstance(html, Tag) or not html.get("lang"):
        problems.append("<html> has no lang")
    if page.title is None or not page.title.get_text(strip=True):
        problems.append("no <title>")
    headings = [int(h.name[1]) for h in page.find_all(re.compile(r"^h[1-6]$"))]
    if headings.count(1) != 1:
        problems.append(f"{headings.count(1)} h1 elements")
    for before, after in itertools.pairwise(headings):
        if after > before + 1:
            problems.append(f"heading level skips from h{before} to h{after}")
    ids = [str(t["id"]) for t in page.find_all(id=True)]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for svg in page.find_all("svg"):
        labelled = page.find(id=str(svg.get("aria-labelledby", "")))
        if svg.get("role") != "img" or not isinstance(labelled, Tag) or not labelled.get_text(strip=True):
            problems.append(f"chart {svg.get('id')} has no accessible name")
    for image in page.find_all("img"):
        if not str(image.get("alt", "")).strip():
            problems.append(f"image {image.get('id') or image.get('src')} has no alternative text")
    for control in page.find_all(["input", "select", "textarea"]):
        if control.get("type") in ("hidden", "submit", "button"):
            continue
        named = control.get("aria-label") or (control.get("id") and page.find("label", attrs={"for": control["id"]}))
        if not named:
            problems.append(f"form control {control.get('name')} has no label")
    for table in page.find_all("table"):
        if not table.find("th") and not table.find("caption"):
            problems.append(f"table {table.get('id')} has neither header cells nor a caption")
    for link in page.find_all(["a", "button"]):
        if not link.get_text(strip=True) and not link.get("aria-label"):
            problems.append(f"{link.name} without text: {link}")
    for element in page.find_all(tabindex=True):
        if int(str(element["tabindex"])) > 0:
            problems.append(f"positive tabindex on {element.name}")
    return problems


def tables_behind_charts(page: BeautifulSoup) -> bool:
    """Every chart (inline SVG, or an image of the console's charts) is followed by a table with its figures."""
    return all(chart.find_next("table") is not None for chart in page.find_all(["svg", "img"]))


def chart_sources(page: BeautifulSoup) -> list[str]:
    """The addresses of the page's chart images (`<img class="chart">`), in page order."""
    return [str(image["src"]) for image in page.find_all("img", class_="chart")]


def offline_copy(client: httpx.Client, html: str, folder: Path, name: str) -> Path:
    """The page saved as `folder/name` with its stylesheet and chart images beside it (links made relative), so
    that a browser shows it from disk as it would from the service; the chart images must answer."""
    (folder / "console.css").write_bytes(client.get("/console/static/console.css").content)
    for source in chart_sources(parse(html)):
        answer = client.get(source)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml"), source
        local = source.rsplit("/", 1)[-1]
        (folder / local).write_bytes(answer.content)
        html = html.replace(f'src="{source}"', f'src="{local}"')
    target = folder / name
    target.write_text(html.replace("/console/static/console.css", "console.css"))
    return target


def patient(service: RunningService, subject: str | None = None, *roles: str) -> httpx.AsyncClient:
    """A client of the service that waits long for an answer: pages draw charts, and CI machines are busy."""
    headers = {"Authorization": f"Bearer {service.token(subject, *roles)}"} if subject else {}
    return httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=180)
