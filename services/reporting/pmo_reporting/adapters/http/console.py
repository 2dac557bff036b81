"""The read-only PMO console: server-rendered HTML (Jinja2) over the same reports as the JSON API, with the
same JWT (a bearer header, or in development a pasted token kept in a cookie), charts as SVG images of their
own (`charts`, `chart_store`: the page is sent before its charts are drawn), a table behind every chart, and
an `as_of` time control with that day's events on every page.

No page loads anything from elsewhere: the stylesheet and the charts come from this service, there is no script.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import jwt
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from pmo_events.contracts.bounds import BoundedDate
from pmo_events.figures.capacity import window_problem
from pmo_events.figures.days import Span
from pmo_reporting.adapters.http.board_pack import HTML_POLICY, PDF, build_pack, pack_charts, render_html, render_pdf
from pmo_reporting.adapters.http.chart_store import ChartStore, is_key, store_for
from pmo_reporting.adapters.http.drawings import Drawing
from pmo_reporting.adapters.http.html import as_json, templates
from pmo_reporting.adapters.http.programme_reports import programme_body, programmes_body
from pmo_reporting.adapters.http.programme_responses import ProgrammeDashboard, ProgrammeLine
from pmo_reporting.adapters.http.rendering import as_of_instant, bounded_instant, invalid
from pmo_reporting.adapters.http.reports import (
    candidates_body,
    capacity_body,
    decision_rows,
    dependencies_body,
    known_now,
    pipeline_body,
    portfolio_names,
    project_body,
    risks_body,
    summary_body,
)
from pmo_reporting.adapters.http.responses import (
    CapacityHeatmap,
    DecisionEntry,
    DependencyMap,
    PipelineReport,
    PortfolioSummary,
    ProjectReport,
    RiskReport,
)
from pmo_reporting.application.queries import events_between, hidden_drafts, log_span
from pmo_servicekit.access import FLOOR, ROLE_ORDER, permits
from pmo_servicekit.auth import Authenticator, Principal
from pmo_servicekit.http import PathId, service_runtime
from pmo_servicekit.problems import Problem

router = APIRouter(prefix="/console", include_in_schema=False)

#: The development login keeps the pasted token in this cookie (HttpOnly, SameSite=Strict).
COOKIE = "pmo_console_token"
STATIC = {"console.css": "text/css; charset=utf-8"}
#: Content-Security-Policy: nothing but this origin's stylesheet and inline SVG; no script at all.
#: How many of the highest-scored open risks the overview lists (the risk page lists them all).
TOP_RISKS = 5
POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"


async def _verify(request: Request, token: str) -> tuple[Principal | None, str]:
    """The token's principal as the API's bearer check finds it, or None and why not (any failure)."""
    authenticator: Authenticator = request.app.state.authenticator
    try:
        if authenticator.fetches_keys:  # a JWKS refresh is blocking HTTP: keep it off the event loop
            return await asyncio.to_thread(authenticator.verify, token), ""
        return authenticator.verify(token), ""
    except (jwt.PyJWTError, ValueError) as exc:
        return None, str(exc)
    except Exception:
        return None, "it cannot be verified"


async def _principal(request: Request) -> Principal | None:
    """The caller from `Authorization: Bearer` (an OIDC proxy in production) or the development cookie; a valid
    token without any role reads nothing (403), like the JSON API (`pmo_servicekit.access`)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    principal = (await _verify(request, token))[0] if token else None
    if principal is not None and not permits(principal, [FLOOR]):
        raise Problem(403, "forbidden", f"the console needs one of the roles: {', '.join(ROLE_ORDER)}")
    return principal


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)


def _instant(as_of: str | None, t: int | None) -> datetime | None:
    """`as_of` (RFC 3339, as the reports take it) or `t` (the slider: seconds since the epoch, UTC)."""
    if as_of:
        return as_of_instant(bounded_instant("as_of", as_of))
    if t is not None:
        if not 0 <= t <= 32503680000:
            raise invalid("t", "seconds since 1970 up to the year 3000", "range")
        return as_of_instant(datetime.fromtimestamp(t, UTC))
    return None


AsOfText = Annotated[str | None, Query(max_length=40, description="RFC 3339 instant")]
Slider = Annotated[int | None, Query(description="the time slider: seconds since the epoch")]


async def _page(request: Request, template: str, as_of: datetime | None, **context: Any) -> HTMLResponse:
    """Render a page with its time control: the slider over the log's span and the events of `as_of`'s day."""
    db = service_runtime(request).db
    now = datetime.now(UTC)
    span = await log_span(db)
    day_start = datetime.combine((as_of or now).date(), datetime.min.time(), UTC)
    events = await events_between(db, day_start, min(day_start + timedelta(days=1), (as_of or now) + timedelta(0, 1)))
    principal: Principal = context["principal"]  # someone else's drafts stay out of the day's events, as in /history
    hidden = await hidden_drafts(db, events, principal.subject, principal.roles, as_of=as_of)
    events = [e for e in events if e["data"].get("proposal_id") not in hidden]
    first = span[0] if span else now
    html = templates.get_template(template).render(
        request_path=request.url.path,
        as_of=as_of,
        as_of_text=as_of.isoformat().replace("+00:00", "Z") if as_of else None,
        day=day_start.date(),
        events=events,
        slider={
            "min": int(first.timestamp()),
            "max": int(now.timestamp()),
            "value": int((as_of or now).timestamp()),
        },
        event_link=lambda e: _with_as_of(request, e["occurred_at"]),
        at=lambda text: _with_as_of(request, text),
        with_as_of=lambda path: _with_as_of(request, as_of, path),
        **context,
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-store"})


def _with_as_of(request: Request, as_of: datetime | str | None, path: str | None = None) -> str:
    """A console link (this page by default) at `as_of`, other query parameters of this page kept."""
    params = {} if path else {k: v for k, v in request.query_params.items() if k not in ("as_of", "t")}
    target = path or request.url.path
    if "?" in target:
        target, query = target.split("?", 1)
        params.update({k: v[0] for k, v in parse_qs(query).items()})
    if as_of is not None:
        params["as_of"] = as_of if isinstance(as_of, str) else as_of.isoformat().replace("+00:00", "Z")
    return target + (f"?{urlencode(params)}" if params else "")


def _chart(request: Request, draw: str, chart_id: str, *figures: Any) -> Markup:
    """The chart's place in the page: an image of its own, ordered now (drawn off the event loop, or kept from
    before for the same figures) and fetched by the browser while it shows the page and the table beside it."""
    drawing = Drawing(draw, figures)
    key = _store(request).order(drawing, chart_id)
    return Markup('<img class="chart" id="{}" src="/console/charts/{}.svg" alt="{}">').format(
        chart_id, key, drawing.title
    )


def _store(request: Request) -> ChartStore:
    return store_for(service_runtime(request).settings.data_dir)


#: A chart's SVG never changes for its key (the key is a hash of its figures): the browser keeps it.
CHART_CACHE = "private, max-age=31536000, immutable"
#: An SVG opened on its own runs nothing and loads nothing.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


@router.get("/charts/{name}")
async def chart(name: PathId, request: Request) -> Response:
    """A chart a page ordered, as SVG: waits for its drawing, if under way; 404 for a key never ordered."""
    if (await _principal(request)) is None:
        raise Problem(401, "unauthorized", "sign in to the console (or send a bearer token) to see its charts")
    key = name.removesuffix(".svg")
    if not name.endswith(".svg") or not is_key(key):
        raise Problem(404, "not-found", f"no chart {name}")
    tag = f'"{key}"'
    headers = {"ETag": tag, "Cache-Control": CHART_CACHE, "Content-Security-Policy": CHART_POLICY}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    svg = await _store(request).svg(key)
    if svg is None:
        raise Problem(404, "not-found", f"no chart {name}: open the page that shows it again")
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/static/{name}")
async def static_file(name: PathId) -> Response:
    if name not in STATIC:
        raise Problem(404, "not-found", f"no console asset {name}")
    body = resources.files("pmo_reporting.adapters.http").joinpath("console_static", name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=3600"})


@router.get("/login")
async def login_page(request: Request, next: Annotated[str, Query(max_length=500)] = "/console") -> HTMLResponse:
    html = templates.get_template("login.html").render(next=_local(next), error=None)
    return HTMLResponse(html, headers={"Content-Security-Policy": POLICY})


@router.post("/login")
async def login(request: Request) -> Response:
    """Development sign-in: the pasted token is verified like any bearer token and must carry a role the pages
    accept (`pmo_servicekit.access` floor), then kept in a cookie."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = _local((form.get("next") or ["/console"])[0])
    principal, why = await _verify(request, token)
    if principal is None:
        html = templates.get_template("login.html").render(next=target, error=f"the token is not valid: {why}")
        return HTMLResponse(html, status_code=401, headers={"Content-Security-Policy": POLICY})
    if not permits(principal, [FLOOR]):  # the pages' own floor (`_principal`): no cookie every page would refuse
        error = f"the token for {principal.subject} has no role; the console needs one of: {', '.join(ROLE_ORDER)}"
        html = templates.get_template("login.html").render(next=target, error=error)
        return HTMLResponse(html, status_code=403, headers={"Content-Security-Policy": POLICY})
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/console"
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


def _local(target: str) -> str:
    """Only a console path is a place to go back to after signing in."""
    return target if target.startswith("/console") and "//" not in target else "/console"


@router.get("")
async def home(request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    portfolios = await portfolio_names(request, instant)
    return await _page(request, "home.html", instant, principal=principal, portfolios=portfolios, title="Portfolios")


@router.get("/portfolios/{portfolio_id}")
async def portfolio_overview(
    portfolio_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None
) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    if instant is not None:  # (without one, the summary says so)
        await known_now(request, portfolio_id)
    summary = as_json(PortfolioSummary, await summary_body(request, portfolio_id, instant))
    candidates = await candidates_body(request, portfolio_id, instant)
    risk_report = await _risk_report(request, portfolio_id, instant)
    svg = {  # in the page's order: the first is drawn first
        "budget": _chart(request, "budget_chart", "chart-budget", summary["budget"], summary["currency"]),
        "totals": _chart(request, "totals_chart", "chart-totals", summary["totals"], summary["currency"]),
        "rag": _chart(request, "rag_chart", "chart-rag", summary["rag"]),
        "risks": _chart(request, "risk_heatmap", "chart-risks", risk_report["cells"]),
        "bubbles": _chart(request, "bubble_chart", "chart-bubbles", candidates),
    }
    return await _page(
        request,
        "overview.html",
        instant,
        principal=principal,
        title=summary["name"] or f"Portfolio {portfolio_id}",
        portfolio_id=portfolio_id,
        summary=summary,
        candidates=candidates,
        risks=risk_report,
        top_risks=TOP_RISKS,
        svg=svg,
    )


@router.get("/portfolios/{portfolio_id}/board-pack.{kind}")
async def board_pack(
    portfolio_id: PathId, kind: PathId, request: Request, as_of: AsOfText = None, t: Slider = None
) -> Response:
    """The board pack (`board_pack`) for a signed-in console user: the API's `.pdf` and `.html` with the cookie."""
    if (await _principal(request)) is None:
        return _login_redirect(request)
    if kind not in ("pdf", "html"):
        raise Problem(404, "not-found", "a board pack is .pdf or .html")
    instant = _instant(as_of, t)
    pack = await build_pack(request, portfolio_id, instant)
    if kind == "pdf":
        return Response(await render_pdf(pack), media_type=PDF)
    html = render_html(pack, await pack_charts(request, pack))
    return HTMLResponse(html, headers={"Content-Security-Policy": HTML_POLICY})


@router.get("/portfolios/{portfolio_id}/pipeline")
async def pipeline(portfolio_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    report = as_json(PipelineReport, await pipeline_body(request, portfolio_id, instant))
    svg = {"funnel": _chart(request, "funnel_chart", "chart-funnel", report["stages"])}
    return await _page(
        request,
        "pipeline.html",
        instant,
        principal=principal,
        title="Pipeline funnel",
        portfolio_id=portfolio_id,
        report=report,
        svg=svg,
    )


async def _risk_report(request: Request, portfolio_id: str, as_of: datetime | None) -> dict[str, Any]:
    body, ranked = await risks_body(request, portfolio_id, as_of)
    return as_json(RiskReport, {**body, "items": ranked, "next_cursor": None})


@router.get("/portfolios/{portfolio_id}/risks")
async def risks(portfolio_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    report = await _risk_report(request, portfolio_id, instant)
    svg = {"heatmap": _chart(request, "risk_heatmap", "chart-heatmap", report["cells"])}
    return await _page(
        request,
        "risks.html",
        instant,
        principal=principal,
        title="Risks",
        portfolio_id=portfolio_id,
        report=report,
        svg=svg,
    )


@router.get("/portfolios/{portfolio_id}/dependencies")
async def dependencies(portfolio_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    body, edges = await dependencies_body(request, portfolio_id, instant)
    report = as_json(DependencyMap, {**body, "items": edges, "next_cursor": None})
    svg = {"map": _chart(request, "dependency_graph", "chart-map", report["nodes"], report["items"])}
    return await _page(
        request,
        "dependencies.html",
        instant,
        principal=principal,
        title="Dependencies",
        portfolio_id=portfolio_id,
        report=report,
        svg=svg,
    )


@router.get("/portfolios/{portfolio_id}/programmes")
async def programmes(portfolio_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    rows = [as_json(ProgrammeLine, row) for row in await programmes_body(request, portfolio_id, instant)]
    return await _page(
        request,
        "programmes.html",
        instant,
        principal=principal,
        title="Programmes",
        portfolio_id=portfolio_id,
        programmes=rows,
    )


@router.get("/programmes/{programme_id}")
async def programme(programme_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    body, projects = await programme_body(request, programme_id, instant)
    report = as_json(ProgrammeDashboard, {**body, "items": projects, "next_cursor": None})
    return await _page(
        request,
        "programme.html",
        instant,
        principal=principal,
        title=f"Programme {report.get('name') or programme_id}",
        portfolio_id=report.get("portfolio_id"),
        report=report,
        tranche_names={t["tranche_id"]: t["name"] for t in report["tranches"]},
        svg={
            "benefits": _chart(request, "benefits_map_chart", "chart-benefits", report["benefits_map"]),
            "ring_fence": _chart(
                request, "ring_fence_chart", "chart-ring-fence", report["ring_fence"], report.get("currency")
            ),
        },
    )


@router.get("/portfolios/{portfolio_id}/decisions")
async def decisions(portfolio_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    rows = [as_json(DecisionEntry, d) for d in await decision_rows(request, portfolio_id, instant)]
    return await _page(
        request,
        "decisions.html",
        instant,
        principal=principal,
        title="Decision audit trail",
        portfolio_id=portfolio_id,
        decisions=list(reversed(rows)),
    )


@router.get("/projects/{project_id}")
async def project(project_id: PathId, request: Request, as_of: AsOfText = None, t: Slider = None) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    report = as_json(ProjectReport, await project_body(request, project_id, instant))
    svg = {"evm": _chart(request, "s_curve", "chart-evm", report["evm"])}
    return await _page(
        request,
        "project.html",
        instant,
        principal=principal,
        title=f"Project {report.get('title') or project_id}",
        portfolio_id=report.get("portfolio_id"),
        report=report,
        svg=svg,
    )


@router.get("/capacity")
async def capacity(
    request: Request,
    as_of: AsOfText = None,
    t: Slider = None,
    from_: Annotated[BoundedDate | None, Query(alias="from")] = None,
    to: BoundedDate | None = None,
) -> Response:
    if (principal := await _principal(request)) is None:
        return _login_redirect(request)
    instant = _instant(as_of, t)
    today = (instant or datetime.now(UTC)).date()
    start = from_ or today.replace(day=1)
    end = to or date(start.year + 1, start.month, 1) - timedelta(days=1)
    if wrong := window_problem(start, end):
        raise invalid(wrong[0], wrong[1], "range")
    header, rows = await capacity_body(request, instant, Span(start, end), "role", "period")
    report = as_json(CapacityHeatmap, {**header, "items": rows, "next_cursor": None})
    svg = {"heatmap": _chart(request, "heatmap", "chart-heatmap", report["items"])}
    return await _page(
        request,
        "capacity.html",
        instant,
        principal=principal,
        title="Capacity against demand",
        portfolio_id=None,
        report=report,
        window={"from": start.isoformat(), "to": end.isoformat()},
        svg=svg,
    )
