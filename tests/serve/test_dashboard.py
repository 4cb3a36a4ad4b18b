"""The dashboard: jobs with live state, a job's loss chart, events, checkpoints and action buttons,
the compare report — server-rendered, every user or model text escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from servehelp import submit

from ftrouter.jobs.models import JobEvent, JobSpec, PreparedJob
from ftrouter.jobs.service import JobService
from ftrouter.serve.charts import loss_chart_svg, loss_series
from ftrouter.serve.facts import days_left

CHAT = Path(__file__).resolve().parents[2] / "configs" / "examples" / "chat.jsonl"
EVIL = '<script>alert("x")</script>'


def _metrics(step: int, **values: float) -> JobEvent:
    return JobEvent(id=f"m{step}-{'-'.join(values)}", created_at=datetime(2026, 1, 1, 0, step, tzinfo=UTC),
                    message=f"step {step}", type="metrics", data={"step": step, **values})


def test_jobs_page_lists_jobs_with_state_and_escapes_model_names(client: TestClient, train_file: Path) -> None:
    job = submit(client, train_file, model=EVIL)
    page = client.get("/")
    assert page.status_code == 200
    assert f'href="/jobs/{job["id"]}"' in page.text and "pending" in page.text
    assert EVIL not in page.text and "&lt;script&gt;" in page.text
    assert '<meta http-equiv="refresh"' in page.text  # an active job: the page polls


def test_job_page_draws_training_and_validation_loss(client: TestClient, train_file: Path,
                                                     service: JobService) -> None:
    job = submit(client, train_file)
    service.registry.add_events(str(job["id"]), [
        _metrics(1, loss=2.0), _metrics(2, loss=1.5), _metrics(2, eval_loss=1.7), _metrics(3, loss=1.1),
        JobEvent(id="c1", created_at=datetime(2026, 1, 1, 1, tzinfo=UTC), message="checkpoint saved",
                 type="checkpoint", data={"path": "/out/checkpoint-3"}),
        JobEvent(id="x", created_at=datetime(2026, 1, 1, 2, tzinfo=UTC), message=EVIL, level="warning"),
    ])
    page = client.get(f"/jobs/{job['id']}")
    assert page.status_code == 200
    svg = re.search(r'<figure id="loss-chart"><svg.*?</svg></figure>', page.text, re.S)
    assert svg is not None
    assert 'data-series="training loss"' in svg.group(0) and 'data-series="validation loss"' in svg.group(0)
    assert "/out/checkpoint-3" in page.text
    assert EVIL not in page.text and "&lt;script&gt;" in page.text
    for action in ("cancel", "pause", "resume"):
        assert f'id="{action}"' in page.text


def test_job_page_without_metrics_says_so(client: TestClient, train_file: Path) -> None:
    job = submit(client, train_file)
    page = client.get(f"/jobs/{job['id']}")
    assert 'id="no-loss"' in page.text and "<svg" not in page.text
    assert client.get("/jobs/ftr-zzzzzz").status_code == 404


def test_action_buttons_need_the_form_secret(client: TestClient, train_file: Path, service: JobService) -> None:
    job = submit(client, train_file)
    forged = client.post(f"/jobs/{job['id']}/cancel", data={"form_secret": "guess"})
    assert forged.status_code == 403
    assert service.registry.get(str(job["id"])).state.value == "pending"
    secret = re.search(r'name="form_secret" value="([^"]+)"', client.get(f"/jobs/{job['id']}").text)
    assert secret is not None
    done = client.post(f"/jobs/{job['id']}/cancel", data={"form_secret": secret.group(1)}, follow_redirects=False)
    assert done.status_code == 303
    assert service.registry.get(str(job["id"])).state.value == "cancelled"
    refused = client.post(f"/jobs/{job['id']}/pause", data={"form_secret": secret.group(1)})
    assert refused.status_code == 400 and 'id="error"' in refused.text  # shown on the job's page, not a 500
    assert "nothing to pause" in refused.text and 'id="job-facts"' in refused.text


def test_openai_jobs_show_days_left_from_the_catalog(service: JobService, train_file: Path) -> None:
    spec = JobSpec(backend="openai", model="gpt-4.1-mini-2025-04-14", data=str(train_file))
    record = service.registry.create(PreparedJob(spec=spec, local_id="ftr-abcdef"))
    assert days_left(record, date(2026, 12, 27)) == "10 days left to train (until 2027-01-06)"
    assert days_left(record, date(2027, 2, 1)) == "training closed on 2027-01-06"
    local = record.model_copy(update={"backend": "local"})
    assert days_left(local, date(2026, 12, 27)) == ""


def test_compare_page_renders_the_html_report(client: TestClient) -> None:
    assert "<form" in client.get("/compare").text
    page = client.get("/compare", params={"data": str(CHAT), "backend": "openai", "monthly_requests": 1000})
    assert page.status_code == 200 and "ftrouter comparison" in page.text and "<svg" in page.text
    missing = client.get("/compare", params={"data": "/no/such.jsonl"})
    assert missing.status_code == 400 and "no such file" in missing.text


def test_loss_series_reads_openai_and_local_metric_names() -> None:
    events = [_metrics(1, train_loss=3.0), _metrics(2, train_loss=2.0, valid_loss=2.5),
              _metrics(3, full_valid_loss=2.2), JobEvent(id="n", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                                                         message="no step", type="metrics", data={"loss": 9.0})]
    train, valid = loss_series(events)
    assert train.points == [(1.0, 3.0), (2.0, 2.0)]
    assert valid.points == [(2.0, 2.5), (3.0, 2.2)]
    assert loss_chart_svg([]) == ""
    assert loss_chart_svg([train]).count("<polyline") == 1


def test_pages_load_nothing_from_other_hosts(client: TestClient, train_file: Path) -> None:
    job = submit(client, train_file)
    for path in ("/", f"/jobs/{job['id']}", "/compare"):
        page = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', page), path
    assert client.get("/docs").status_code == 404  # FastAPI's docs page would fetch swagger-ui from a CDN


def test_estimate_against_actual_once_the_job_ended(client: TestClient, train_file: Path, service: JobService) -> None:
    from ftrouter.serve.poller import Poller

    job = submit(client, train_file)  # the fake estimates $0.05 (5 examples) and measures 1.5 s of training
    poller = Poller(service)
    for _ in range(3):
        poller.tick()
        poller.wake()
    row = re.search(r'<tr class="job" data-job="' + str(job["id"]) + '">.*?</tr>', client.get("/").text, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert cells[2].strip() == "succeeded" and cells[5] == "$0.0500" and cells[6] == "— · 2 s"
