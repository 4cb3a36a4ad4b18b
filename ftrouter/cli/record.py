"""``ftrouter record``: a model's answers to a prompt set, written as a chat training/eval file.

Thin: parse, call ``ftrouter.migrate.record`` (which answers through the eval engine), report.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ftrouter.errors import UsageError


def record_command(
    model: str = typer.Argument(..., help="Whose answers: a job (ftr-... or ftjob-..., its fine-tuned model) or "
                                "an eval model spec (openai:MODEL\\[@BASE_URL], vertex:MODEL, hf:PATH\\[+ADAPTER])."),
    data: Path = typer.Option(..., "--data", help="The prompts (JSONL): chat, prompt(-completion), "
                              "text(-label) or preference (DPO) rows; a reference is not needed (it is replaced)."),
    out: Path | None = typer.Option(None, "-o", "--output", help="Where to write the answers (default: "
                                    "PROMPTS.recorded.jsonl beside the prompts)."),
    limit: int | None = typer.Option(None, "--limit", help="Record only the first N prompts."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Requests in flight (default: the "
                                           "provider's, 8 for OpenAI)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Record a model's answers (typically the old fine-tune's, before it shuts down) as an OpenAI chat
    JSONL file: golden answers for the comparison, and training data for the replacement."""
    from ftrouter.cli.eval import _progress
    from ftrouter.data.containers import open_source
    from ftrouter.migrate.record import (
        SHOWN_FAILURES,
        check_paths,
        default_output,
        read_prompts,
        record,
        spec_for_recording,
    )

    if concurrency is not None and concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}", code="bad_option")
    output = out or default_output(data)
    check_paths(data, output)  # recording needs no metric library: no `ftrouter[eval]` extra
    spec = spec_for_recording(model)
    source = open_source(data)  # a container is unpacked once: for the prompts and for the rows written back
    examples = read_prompts(source, limit)  # a bad row stops here, before any call
    with _progress(len(examples)) as tick:
        result = record(spec, data, output, examples, concurrency=concurrency, tick=tick, source=source)
    total = len(examples)
    if result.failed:
        lines = ", ".join(str(n) for n in result.failed_lines[:SHOWN_FAILURES])
        more = f" and {result.failed - SHOWN_FAILURES} more" if result.failed > SHOWN_FAILURES else ""
        where = f"{'line' if result.failed == 1 else 'lines'} {lines}{more}"
        typer.echo(f"ftrouter: warning: {result.failed} of {total} prompts got no answer and are NOT in {output} "
                   f"({where}; first error: {result.first_error}); run the same command again to retry them "
                   "(the answers already received come from the cache)", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(f"wrote {result.written} answer(s) from {result.model} to {output} "
               f"({result.cached} from the cache, {result.failed} failed)")
