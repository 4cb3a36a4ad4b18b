"""One redaction function for every sink: printed errors, log lines, stored errors and events.

A provider's error message can echo part of a key ("Incorrect API key provided: sk-ab***yz"), and a
key need not carry the usual prefix. So ``redact`` removes every run of ``MIN_FRAGMENT`` or more
characters that also occurs in a configured secret, plus anything shaped like a key or a bearer
token. Secrets are the values of the credential variables in the environment (``OPENAI_API_KEY``, any
``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``...) and whatever an adapter registers at run time
(``register_secret``: an explicit API key, a Google access or refresh token).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable

MIN_FRAGMENT = 8  # a run this long of any secret is removed; shorter secrets are not treated as secrets
MASK = "[redacted]"
_SECRET_ENV = re.compile(r"(API_KEY|_TOKEN|_SECRET|_PASSWORD|ACCESS_KEY|PRIVATE_KEY)$", re.IGNORECASE)
# Key-shaped text even when the key itself is not known here (masked keys, other people's keys).
_KEYLIKE = re.compile(r"\b(?:sk|sess|rk)-[A-Za-z0-9_*\-.]{3,}|\bya29\.[A-Za-z0-9_\-.]+|\bAIza[0-9A-Za-z_\-]{20,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}")

_registered: set[str] = set()
_lock = threading.Lock()
_cache: dict[frozenset[str], frozenset[str]] = {}


def register_secret(value: str | None) -> None:
    """Treat ``value`` (a key or token an adapter uses) as a secret from now on, in this process."""
    if value and len(value) >= MIN_FRAGMENT:
        with _lock:
            _registered.add(value)


def configured_secrets() -> frozenset[str]:
    """The secrets known now: credential variables in the environment plus the registered ones."""
    from_env = {value.strip() for name, value in os.environ.items()
                if _SECRET_ENV.search(name) and len(value.strip()) >= MIN_FRAGMENT}
    with _lock:
        return frozenset(from_env | _registered)


def _fragments(secrets: frozenset[str]) -> frozenset[str]:
    """Every MIN_FRAGMENT-long piece of every secret (cached: the set of secrets rarely changes)."""
    cached = _cache.get(secrets)
    if cached is None:
        cached = frozenset(secret[i:i + MIN_FRAGMENT] for secret in secrets
                           for i in range(len(secret) - MIN_FRAGMENT + 1))
        with _lock:
            _cache.clear()
            _cache[secrets] = cached
    return cached


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` without any run of MIN_FRAGMENT+ characters of a secret, and without key-shaped tokens.

    ``secrets`` adds to the configured ones. Overlapping windows are merged, so a longer run of a
    secret is masked as a whole (a run stitched from two places of a secret is masked too: better one
    mask too many than one fragment too few)."""
    if not text:
        return text
    known = configured_secrets()
    if secrets is not None:
        known = known | {s for s in secrets if s and len(s) >= MIN_FRAGMENT}
    if known:
        text = _mask_fragments(text, _fragments(known))
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _KEYLIKE.sub(MASK, text)


def _mask_fragments(text: str, fragments: frozenset[str]) -> str:
    covered_until = -1
    spans: list[list[int]] = []
    for start in range(len(text) - MIN_FRAGMENT + 1):
        if text[start:start + MIN_FRAGMENT] in fragments:
            end = start + MIN_FRAGMENT
            if spans and start <= covered_until:
                spans[-1][1] = end
            else:
                spans.append([start, end])
            covered_until = end
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(MASK)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (attach it to a handler: every record that
    handler emits, from any logger, is cleaned)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
