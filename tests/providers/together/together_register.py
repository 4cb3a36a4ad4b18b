"""Make the Together plugin findable as `make setup` installs it (``pip install -e providers/together``):
when the shared environment has not installed it, put its source on sys.path and a minimal dist-info
with its ``ftrouter.backends`` entry point beside it, so ``importlib.metadata`` finds it like pip's."""

from __future__ import annotations

import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[3] / "providers" / "together"


def ensure_registered() -> None:
    if any(ep.name == "together" for ep in entry_points(group="ftrouter.backends")):
        return
    if str(PLUGIN) not in sys.path:
        sys.path.insert(0, str(PLUGIN))
    site = Path(tempfile.mkdtemp(prefix="ftrouter-together-dist-"))
    info = site / "ftrouter_together-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ftrouter-together\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text('[ftrouter.backends]\ntogether = ftrouter_together:TogetherBackend\n\n'
                                      '[ftrouter.answerers]\ntogether = ftrouter_together.answer:make_answerer\n')
    sys.path.append(str(site))
