"""The web dashboard: server-rendered HTML (jinja2 with autoescaping, so every model name, file name,
provider message and event text is escaped), inline SVG charts, no script and nothing from a CDN.
Live state is plain polling: a page showing an active job reloads itself every few seconds, reading
the registry that the service's poller keeps fresh.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ftrouter.errors import FtrouterError
from ftrouter.jobs.service import JobService
from ftrouter.serve import facts, operations
from ftrouter.serve.auth import COOKIE, check_form_secret, dashboard_allowed, same
from ftrouter.serve.charts import loss_chart_svg, loss_series
from ftrouter.serve.errors import status_for
from ftrouter.serve.schemas import CompareRequest

pages = APIRouter(include_in_schema=False)

REFRESH_S = 5
ACTIONS = ("cancel", "pause", "resume")


@cache
def templates() -> Environment:
    return Environment(loader=PackageLoader("ftrouter.serve", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _service(request: Request) -> JobService:
    service: JobService = request.app.state.service
    return service


def _login_redirect(request: Request) -> Response | None:
    if dashboard_allowed(request):
        return None
    return RedirectResponse("/login", status_code=303)


@pages.get("/", response_class=HTMLResponse)
def jobs_page(request: Request, all: bool = False) -> Response:
    if (redirect := _login_redirect(request)) is not None:
        return redirect
    records = _service(request).registry.list_jobs(include_all=all)
    rows = [{"record": r, "progress": facts.progress_text(r), "estimate": facts.estimate_text(r),
             "actual": facts.actual_text(r), "days_left": facts.days_left(r)} for r in records]
    active = any(not r.terminal for r in records)
    return render("jobs.html", rows=rows, show_all=all, refresh_s=REFRESH_S if active else None)


@pages.get("/jobs/{job}", response_class=HTMLResponse)
def job_page(request: Request, job: str) -> Response:
    if (redirect := _login_redirect(request)) is not None:
        return redirect
    return _job_page(request, job)


def _job_page(request: Request, job: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    registry = _service(request).registry
    try:
        record = registry.get(job)
    except FtrouterError as exc:
        return render("base.html", status_for(exc), error=exc.message)
    events = registry.events(record.id)
    chart = loss_chart_svg(loss_series(events))  # our own markup; every text in it is escaped by charts.py
    return render("job.html", status, record=record, events=events, chart=Markup(chart) if chart else "",
                  evals=_evals_of(record.id),
                  progress=facts.progress_text(record), estimate=facts.estimate_text(record),
                  actual=facts.actual_text(record), days_left=facts.days_left(record),
                  checkpoints=facts.checkpoints(record, events), actions=ACTIONS, error=error,
                  form_secret=request.app.state.form_secret, refresh_s=None if record.terminal else REFRESH_S)


def _evals_of(job_id: str) -> list[dict[str, Any]]:
    """Stored eval runs that evaluated this job's tuned model (``--model ftr-...``), newest first."""
    from ftrouter.eval.store import list_runs

    return [run for run in list_runs() if any(m["model"] == job_id for m in run["summary"]["models"])]


@pages.post("/jobs/{job}/{action}")
async def job_action(request: Request, job: str, action: str) -> Response:
    if (redirect := _login_redirect(request)) is not None:
        return redirect
    if action not in ACTIONS:
        return render("base.html", 404, error=f"unknown action {action!r}")
    form = await request.form()
    given = form.get("form_secret")
    check_form_secret(request, given if isinstance(given, str) else None)
    from starlette.concurrency import run_in_threadpool

    try:
        record = await run_in_threadpool(getattr(_service(request), action), job)
    except FtrouterError as exc:  # shown on the job's page, with the status the API would answer
        return await run_in_threadpool(_job_page, request, job, exc.message, status_for(exc))
    poller = request.app.state.poller
    if poller is not None:
        poller.wake(record.id)
    return RedirectResponse(f"/jobs/{quote(record.id)}", status_code=303)


@pages.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, data: str | None = None, monthly_requests: int | None = None,
                 months: float | None = None, backend: str = "all") -> Response:
    if (redirect := _login_redirect(request)) is not None:
        return redirect
    form: dict[str, Any] = {"data": data, "monthly_requests": monthly_requests, "months": months,
                            "backend": backend}
    if not data:
        return render("compare.html", **form)
    from ftrouter.cost.render import comparison_html

    try:
        comparison = operations.compare(CompareRequest(data=data, backend=backend, monthly_requests=monthly_requests,
                                                       months=months))
    except FtrouterError as exc:
        return render("compare.html", status_for(exc), error=str(exc), **form)
    return HTMLResponse(comparison_html(comparison), headers={"Cache-Control": "no-store"})


@pages.get("/evals", response_class=HTMLResponse)
def evals_page(request: Request) -> Response:
    if (redirect := _login_redirect(request)) is not None:
        return redirect
    from ftrouter.eval.store import list_runs

    pending = request.app.state.evals.pending()
    runs = [{"id": r["id"], "created_at": r["created_at"], "summary": r["summary"],
             "headline": (r["details"]["metrics"] or [None])[0]} for r in list_runs()]
    active = any(p.state != "failed" for p in pending)
    return render("evals.html", runs=runs, pending=pending, refresh_s=REFRESH_S if active else None)


@pages.get("/evals/{run}", response_class=HTMLResponse)
def eval_page(request: Request, run: str) -> Response:
    """The eval's own side-by-side HTML report, as ``evals show RUN --format html`` writes it, served with
    a policy that lets only its filter script run (see ``ftrouter.serve.evals.report_csp``)."""
    if (redirect := _login_redirect(request)) is not None:
        return redirect
    from ftrouter.eval.render import render_html
    from ftrouter.eval.store import iter_rows, load_run
    from ftrouter.serve.evals import report_headers

    pending = request.app.state.evals.get(run)
    if pending is not None:
        refresh = REFRESH_S if pending.state != "failed" else None
        error = str(pending.error) if pending.error is not None else None
        status = status_for(pending.error) if pending.error is not None else 200
        return render("eval_pending.html", status, run=pending, refresh_s=refresh, error=error)
    try:
        record = load_run(run)
    except FtrouterError as exc:
        return render("base.html", status_for(exc), error=exc.message)
    return HTMLResponse(render_html(record, iter_rows(record["id"])), headers=report_headers())


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return render("login.html")


@pages.post("/login")
async def login(request: Request) -> Response:
    token = request.app.state.settings.token
    form = await request.form()
    given = form.get("token")
    if token is None:
        return RedirectResponse("/", status_code=303)
    if not same(given if isinstance(given, str) else None, token):
        return render("login.html", 401, error="wrong token")
    response = RedirectResponse("/", status_code=303)
    # HttpOnly: no script can read it; SameSite=Strict: no other site's form or link carries it.
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response
