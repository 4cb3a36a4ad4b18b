"""Issue 17, item 11: with a read-only FTROUTER_HOME, or a full disk, the commands that only read work.

The file system conditions are real: the home is bind-mounted read-only, or replaced by a tiny tmpfs
that is then filled, inside a private mount namespace (``unshare -rm``; no root needed where user
namespaces are allowed). Where that is not possible the test is skipped, not faked."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SETUP = """
from datetime import UTC, datetime
from ftrouter.jobs.models import JobEvent, JobSpec, PreparedJob, RemoteRef
from ftrouter.jobs.registry import Registry
r = Registry()
r.create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d.jsonl"), local_id="ftr-abc234"))
r.attach_remote("ftr-abc234", RemoteRef(backend="fake", remote_id="x1", local_id="ftr-abc234"))
r.add_events("ftr-abc234", [JobEvent(id="e1", created_at=datetime.now(UTC), message="hello")])
"""

READS = {
    "jobs": ["jobs", "--offline", "--json"],
    "status": ["status", "ftr-abc234", "--offline", "--json"],
    "events": ["events", "abc234", "--offline", "--json"],
    "inspect": ["data", "inspect", "CHAT", "--model", "gpt-4.1-mini-2025-04-14", "--json"],
}


def _namespaces_available() -> bool:
    import tempfile

    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as probe:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs tmpfs {shlex.quote(probe)}"],
                              capture_output=True, check=False)
    return done.returncode == 0


needs_namespaces = pytest.mark.skipif(not _namespaces_available(),
                                      reason="needs `unshare -rm` (user and mount namespaces) to make a read-only "
                                             "or full file system")


def _run_isolated(prepare: str, out: Path, examples_dir: Path) -> dict[str, tuple[int, str, str]]:
    """``prepare`` (shell) makes the home read-only or full; then each read command runs there, and one
    command that has to write."""
    python = shlex.quote(sys.executable)
    commands = {**READS, "write": ["jobs"]}
    lines = [prepare, "set +e"]  # the preparation must succeed; the commands report their own exit codes
    for name, args in commands.items():
        argv = " ".join(shlex.quote(str(examples_dir / "chat.jsonl") if a == "CHAT" else a) for a in args)
        where = shlex.quote(str(out / name))
        lines.append(f"{python} -m ftrouter {argv} > {where}.out 2> {where}.err; echo $? > {where}.rc")
    subprocess.run(["unshare", "-rm", "sh", "-ec", "\n".join(lines)], check=True, timeout=120)
    return {name: (int((out / f"{name}.rc").read_text()), (out / f"{name}.out").read_text(),
                   (out / f"{name}.err").read_text()) for name in commands}


def _check_reads(results: dict[str, tuple[int, str, str]]) -> None:
    for name in READS:
        code, _, err = results[name]
        assert code == 0, f"{name}: {err}"
    assert [job["id"] for job in json.loads(results["jobs"][1])] == ["ftr-abc234"]
    assert json.loads(results["status"][1])["state"] == "pending"
    assert [event["message"] for event in json.loads(results["events"][1])] == ["hello"]
    assert json.loads(results["inspect"][1])["tokens"]["total"] > 0
    code, _, err = results["write"]  # a command that must write says why it cannot, in one line
    assert code == 2 and "--offline" in err and "Traceback" not in err


@pytest.mark.slow
@needs_namespaces
def test_reading_commands_work_on_a_read_only_home(ftrouter_home: Path, tmp_path: Path, examples_dir: Path) -> None:
    subprocess.run([sys.executable, "-c", SETUP], check=True)  # FTROUTER_HOME is the fixture's home
    out = tmp_path / "out"
    out.mkdir()
    home = shlex.quote(str(ftrouter_home))
    results = _run_isolated(f"mount --bind {home} {home}; mount -o remount,bind,ro {home}", out, examples_dir)
    _check_reads(results)
    assert "Read-only file system" in results["write"][2]


@pytest.mark.slow
@needs_namespaces
def test_reading_commands_work_on_a_full_disk(ftrouter_home: Path, tmp_path: Path, examples_dir: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    home = shlex.quote(str(ftrouter_home))
    python = shlex.quote(sys.executable)
    fill = f"dd if=/dev/zero of={home}/filler bs=4k 2>/dev/null || true"
    prepare = f"mount -t tmpfs -o size=512k tmpfs {home}; {python} -c {shlex.quote(SETUP)}; {fill}"
    _check_reads(_run_isolated(prepare, out, examples_dir))


def test_a_bundled_encoding_loads_when_its_cache_cannot_be_written(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs everywhere (no namespaces): the cache folder sits under a file, so it can never be made."""
    from ftrouter.data import encodings

    text = "naïve café 東京 🙂 def f(x): return x"
    expected = encodings.get_encoding.__wrapped__("o200k_base").encode_ordinary(text)  # a writable cache
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(encodings, "cache_dir", lambda: blocker / "tiktoken")
    assert encodings.get_encoding.__wrapped__("o200k_base").encode_ordinary(text) == expected
    assert list(tmp_path.iterdir()) == [blocker]
