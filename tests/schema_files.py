"""The published provider API specs the cassette tests check bodies against, vendored in tests/schemas/
by scripts/vendor_schemas.py (source, version and licence inside each file), so every checkout runs the
same checks. A missing file is a failure, not a skip."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"
OPENAI_SPEC = SCHEMAS / "openai-openapi.subset.json"
VERTEX_DISCOVERY = SCHEMAS / "aiplatform.v1.subset.json"
TOGETHER_SPEC = SCHEMAS / "together-openapi.subset.json"


@cache
def load_schema(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise AssertionError(f"{path} is missing: run scripts/vendor_schemas.py")
    return dict(json.loads(path.read_text(encoding="utf-8")))
