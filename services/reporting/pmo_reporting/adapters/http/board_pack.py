"""The board pack: the portfolio as it stood at `as_of` (or now), one section a page, as a dated PDF
(`/reports/portfolios/{id}/board-pack.pdf`) or the same content as HTML (`.html`).

Both are drawn from the same sections, built from the same report bodies as the JSON API; charts are
vectors from the console's chart library (matplotlib: SVG in the HTML, the same figures on PDF pages), drawn
and set by the drawing process (`drawings`, `board_pack_pdf`): this module only gathers the content.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from pmo_events.figures.days import Span
from pmo_reporting.adapters.http import drawings
from pmo_reporting.adapters.http.chart_store import store_for
from pmo_reporting.adapters.http.drawings import Drawing, Pack, Section, Table
from pmo_reporting.adapters.http.html import as_json, instant_text, templates
from pmo_reporting.adapters.http.rendering import AsOf
from pmo_reporting.adapters.http.reports import (
    candidates_body,
    capacity_body,
    decision_rows,
    known_now,
    pipeline_body,
    risks_body,
    summary_body,
)
from pmo_reporting.adapters.http.responses import (
    CapacityHeatmap,
    DecisionEntry,
    PipelineReport,
    PortfolioSummary,
    RiskReport,
)
from pmo_servicekit.access import allow
from pmo_servicekit.auth import CurrentPrincipal
from pmo_servicekit.contract.responses import answers
from pmo_servicekit.http import PathId, service_runtime
from pmo_servicekit.routing import FlatRoute

router = APIRouter(prefix="/reports", tags=["reports"], route_class=FlatRoute)

PDF = "application/pdf"
HTML = "text/html"
#: The decision section lists the latest decisions, so that it stays one page.
DECISIONS_SHOWN = 15
#: The risk section lists the highest-scored open risks, so that it stays one page.
RISKS_SHOWN = 10
#: The HTML pack is self-contained (inline style, inline SVG), and loads nothing.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
#: The years the capacity report answers for (as `/reports/capacity` checks `from` and `to`).
CALENDAR_YEARS = (1900, 2999)


def _pack(
    summary: dict[str, Any],
    pipeline: dict[str, Any],
    candidates: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    capacity: dict[str, Any],
    risks: dict[str, Any],
    as_of: datetime | None,
    now: datetime,
) -> Pack:
    """The sections of the pack, each a page: figures exactly as the JSON reports give them."""
    currency = summary["currency"] or ""
    name = summary["name"] or summary["portfolio_id"]
    stamp = f"As it stood at {instant_text(as_of)}" if as_of else f"As it stands at {instant_text(now)}"
    totals = summary["totals"]
    rag = summary["rag"]
    latest = list(reversed(decisions))[:DECISIONS_SHOWN]
    sections = [
        Section(
            "cover",
            "Contents",
            [
                Table(
                    "Portfolio",
                    ["Name", "Id", "Currency", "Board"],
                    [[name, summary["portfolio_id"], currency, ", ".join(summary["board_members"]) or "-"]],
                ),
                Table("Sections", ["Page", "Section"], []),  # filled below, once every section is known
            ],
            notes=[stamp, f"Generated at {instant_text(now)}"],
        ),
        Section(
            "budget",
            "Envelope, committed and actual",
            [
                Table(
                    f"Per fiscal period ({currency}); actual: the cost reported as spent in the period",
                    ["Period", "From", "To", "Envelope", "Committed", "Remaining", "Actual"],
                    [
                        [
                            b["fiscal_period"],
                            b["start"] or "",
                            b["end"] or "",
                            b["envelope"],
                            b["committed"],
                            b["remaining"],
                            b["actual"],
                        ]
                        for b in summary["budget"]
                    ],
                    frozenset({3, 4, 5, 6}),
                ),
                Table(
                    f"All periods ({currency}); actual: each project's latest reported cumulative cost",
                    ["Envelope", "Committed", "Actual"],
                    [[totals["envelope"], totals["committed"], totals["actual"]]],
                    frozenset({0, 1, 2}),
                ),
            ],
            chart=Drawing("budget_chart", (summary["budget"], summary["currency"])),
            chart_id="chart-budget",
        ),
        Section(
            "health",
            "Delivery health and pipeline",
            [
                Table(
                    "Active projects by their latest overall RAG",
                    ["Green", "Amber", "Red", "Unreported"],
                    [[str(rag[k]) for k in ("green", "amber", "red", "unreported")]],
                    frozenset({0, 1, 2, 3}),
                ),
                Table(
                    "Proposals per status",
                    ["Status", "Proposals"],
                    [[s, str(n)] for s, n in summary["pipeline"].items()],
                    frozenset({1}),
                ),
                Table(
                    "Objectives and planned benefits",
                    ["With investment", "Without", "Planned benefits", f"Financial ({currency})"],
                    [
                        [
                            ", ".join(summary["objectives"]["with_investment"]) or "-",
                            ", ".join(summary["objectives"]["without_investment"]) or "-",
                            str(summary["planned_benefits"]["count"]),
                            summary["planned_benefits"]["financial_total"],
                        ]
                    ],
                    frozenset({2, 3}),
                ),
            ],
            chart=Drawing("rag_chart", (rag,)),
            chart_id="chart-rag",
        ),
        _risk_section(risks),
        Section(
            "pipeline",
            "Pipeline funnel",
            [
                Table(
                    "Proposals per stage",
                    ["Stage", "Proposals"],
                    [[s["stage"], str(s["count"])] for s in pipeline["stages"]],
                    frozenset({1}),
                ),
                Table(
                    "Conversion and decision lead time (days)",
                    ["Measure", "Value"],
                    [[k.replace("_", " "), _or_dash(v)] for k, v in pipeline["conversion"].items()]
                    + [
                        ["decisions timed", str(pipeline["decision_lead_time_days"]["count"])],
                        ["median lead time", _or_dash(pipeline["decision_lead_time_days"]["median"])],
                        ["90th percentile lead time", _or_dash(pipeline["decision_lead_time_days"]["p90"])],
                    ],
                    frozenset({1}),
                ),
                Table(
                    "Lead time per stage (days from the stage before)",
                    ["Stage", "From", "Timed", "Median", "90th percentile"],
                    [
                        [s["stage"], s["from_stage"], str(s["count"]), _or_dash(s["median"]), _or_dash(s["p90"])]
                        for s in pipeline["stage_lead_time_days"]
                    ],
                    frozenset({2, 3, 4}),
                ),
            ],
            chart=Drawing("funnel_chart", (pipeline["stages"],)),
            chart_id="chart-funnel",
        ),
        Section(
            "candidates",
            "Candidates and ranking",
            [
                Table(
                    f"Rank, weighted score and mean risk score recorded as each decision's evidence ({currency} cost)",
                    ["Rank then", "Candidate", "Status", "Cost", "Weighted score", "Risk score"],
                    [
                        [
                            f"{c['rank']} of {c['ranked_candidates']}" if c["rank"] else "-",
                            c["title"] or c["id"],
                            c["status"],
                            c["cost"],
                            _or_dash(c["weighted_score"]),
                            _or_dash(c["risk"]),
                        ]
                        for c in candidates
                    ],
                    frozenset({3, 4, 5}),
                )
            ],
            chart=Drawing("bubble_chart", (candidates,)),
            chart_id="chart-bubbles",
        ),
        Section(
            "decisions",
            "Decisions",
            [
                Table(
                    f"The {len(latest)} latest of {len(decisions)} decisions, newest first",
                    ["Decided at", "Kind", "Subject", "Outcome", "By", "Votes", "Rationale"],
                    [
                        [
                            d["decided_at"],
                            d["kind"].replace("_", " "),
                            d.get("subject_id") or d.get("proposal_id") or "",
                            d["outcome"],
                            d["decided_by"],
                            _votes(d),
                            d.get("rationale") or "",
                        ]
                        for d in latest
                    ],
                )
            ],
            notes=["The whole trail, with evidence, is in the console's decisions page and /reports/decisions."],
        ),
        Section(
            "capacity",
            "Capacity against demand",
            [
                Table(
                    f"Per role and fiscal period, {capacity['from']} to {capacity['to']} (average FTE)",
                    ["Period", "Role", "Capacity", "Demand", "Confirmed", "Proposed", "Gap", "Utilisation"],
                    [
                        [
                            r["period"],
                            r["group"],
                            r["capacity"],
                            _or_dash(r["demand"]),
                            r["confirmed"],
                            r["proposed"],
                            _or_dash(r["gap"]),
                            _or_dash(r["utilisation"]),
                        ]
                        for r in capacity["items"]
                    ],
                    frozenset({2, 3, 4, 5, 6, 7}),
                )
            ],
            chart=Drawing("heatmap", (capacity["items"],)),
            chart_id="chart-heatmap",
            notes=[f"{len(capacity['overallocations'])} accepted over-allocations in the window."],
        ),
    ]
    contents = [[str(number), s.title] for number, s in enumerate(sections[1:], start=2)]
    sections[0].tables[1].rows.extend(contents)
    return Pack(summary["portfolio_id"], name, stamp, instant_text(now), sections)


def _risk_section(risks: dict[str, Any]) -> Section:
    """The 5x5 grid as a table beside its heatmap, the highest-scored open risks, escalations and overdue actions."""
    shown = risks["items"][:RISKS_SHOWN]
    grid = [
        [str(row[0]["probability"]), *(str(c["count"]) for c in row)]
        for row in (risks["cells"][start : start + 5] for start in range(0, len(risks["cells"]), 5))
    ]
    return Section(
        "risks",
        "Risks",
        [
            Table(
                "Open risks per probability (rows) and impact (columns)",
                ["Probability", "1", "2", "3", "4", "5"],
                grid,
                frozenset({1, 2, 3, 4, 5}),
            ),
            Table(
                f"The {len(shown)} highest-scored of {len(risks['items'])} open risks",
                ["Risk", "Score", "P", "I", "Owner", "Where", "Escalated"],
                [
                    [
                        r["title"],
                        _or_dash(r["score"]),
                        _or_dash(r["probability"]),
                        _or_dash(r["impact"]),
                        r["owner"],
                        f"{r['level']} {r['level_id']}",
                        "yes" if r["escalated"] else "no",
                    ]
                    for r in shown
                ],
                frozenset({1, 2, 3}),
            ),
        ],
        chart=Drawing("risk_heatmap", (risks["cells"],)),
        chart_id="chart-risks",
        notes=[
            f"{len(risks['escalations'])} escalations and delegations, "
            f"{len(risks['overdue_actions'])} overdue actions: the console's risk page lists them."
        ],
    )


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _votes(decision: dict[str, Any]) -> str:
    votes = decision.get("votes") or (decision.get("evidence") or {}).get("votes") or []
    return ", ".join(f"{v['voter']}: {v['vote']}" for v in votes) or "-"


async def build_pack(request: Request, portfolio_id: str, as_of: datetime | None) -> Pack:
    """Every report the pack shows, at the same `as_of` (404 for a portfolio unknown now)."""
    now = datetime.now(UTC).replace(microsecond=0)
    if as_of is not None:  # (without one, the summary says so)
        await known_now(request, portfolio_id)
    summary = as_json(PortfolioSummary, await summary_body(request, portfolio_id, as_of))
    pipeline = as_json(PipelineReport, await pipeline_body(request, portfolio_id, as_of))
    candidates = await candidates_body(request, portfolio_id, as_of)
    decisions = [as_json(DecisionEntry, d) for d in await decision_rows(request, portfolio_id, as_of)]
    today = (as_of or now).date()
    window = Span(today.replace(day=1), date(today.year + 1, today.month, 1) - timedelta(days=1))
    if CALENDAR_YEARS[0] <= window.start.year and window.end.year <= CALENDAR_YEARS[1]:
        header, rows = await capacity_body(request, as_of, window, "role", "period")
    else:  # before the fiscal calendar's first year: there was no capacity to show
        header = {"as_of": as_of, "from": window.start, "to": window.end, "group_by": "role", "bucket": "period"}
        header, rows = {**header, "overallocations": []}, []
    capacity = as_json(CapacityHeatmap, {**header, "items": rows, "next_cursor": None})
    risk_header, ranked = await risks_body(request, portfolio_id, as_of)
    risks = as_json(RiskReport, {**risk_header, "items": ranked, "next_cursor": None})
    return _pack(summary, pipeline, candidates, decisions, capacity, risks, as_of, now)


async def pack_charts(request: Request, pack: Pack) -> dict[str, str]:
    """The pack's charts as inline SVG, from the console's chart store (drawn once per figures, kept on disk)."""
    store = store_for(service_runtime(request).settings.data_dir)
    ordered = {s.anchor: store.order(s.chart, s.chart_id or f"chart-{s.anchor}") for s in pack.sections if s.chart}
    drawn = {anchor: await store.svg(key) for anchor, key in ordered.items()}
    return {anchor: svg for anchor, svg in drawn.items() if svg is not None}


def render_html(pack: Pack, svgs: dict[str, str]) -> str:
    return templates.get_template("board_pack.html").render(pack=pack, svgs=svgs)


async def render_pdf(pack: Pack) -> bytes:
    """One A4 landscape page per section (`board_pack_pdf.render_pdf`), set by the drawing process."""
    return await drawings.pdf(pack)


PACK_RESPONSES = answers(404, notes={404: "unknown portfolio (live packs only; `as_of` answers an empty one)"})


def _pack_responses(media: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {**PACK_RESPONSES, 200: {"description": description, "content": {media: {"schema": {"type": "string"}}}}}


@router.get(
    "/portfolios/{portfolio_id}/board-pack.pdf",
    summary="Render a portfolio's board pack as PDF",
    response_class=Response,
    responses=_pack_responses(PDF, "The board pack: a dated, paginated PDF, one page per section, vector charts"),
    **allow("viewer"),
)
async def read_board_pack_pdf(
    portfolio_id: PathId, as_of: AsOf, _principal: CurrentPrincipal, request: Request
) -> Response:
    """The portfolio as it stood at `as_of` (now without it): contents, budget, delivery health, risks,
    pipeline, candidates, decisions and capacity, each a page with its chart and the figures of the JSON reports."""
    pack = await build_pack(request, portfolio_id, as_of)
    body = await render_pdf(pack)
    day = pack.generated_at[:10] if as_of is None else instant_text(as_of)[:10]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"board-pack-{portfolio_id}-{day}.pdf")  # a header is Latin-1
    return Response(body, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get(
    "/portfolios/{portfolio_id}/board-pack.html",
    summary="Render a portfolio's board pack as HTML",
    response_class=Response,
    responses=_pack_responses(HTML, "The board pack as one self-contained HTML page, a section per printed page"),
    **allow("viewer"),
)
async def read_board_pack_html(
    portfolio_id: PathId, as_of: AsOf, _principal: CurrentPrincipal, request: Request
) -> Response:
    """The same content as the PDF, as one HTML page with inline SVG charts (prints one section a page)."""
    pack = await build_pack(request, portfolio_id, as_of)
    html = render_html(pack, await pack_charts(request, pack))
    return Response(html, media_type=f"{HTML}; charset=utf-8", headers={"Content-Security-Policy": HTML_POLICY})
