#!/usr/bin/env bash
# The README's first line: ftrouter's main job on bundled data — no account, no GPU, no network.
# Inspect a dataset, get advice on a task, price it across backends, write a comparison report,
# fine-tune a tiny model built on the spot on the CPU, list the job, and evaluate it against its base. State goes to .ftrouter-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=.ftrouter-demo
export FTROUTER_HOME="${FTROUTER_HOME:-$PWD/$demo/home}"
mkdir -p "$demo"

run() {
    printf '\n\033[1m$ %s\033[0m\n' "$*"
    "$@"
}

run ftrouter data inspect configs/examples/chat.jsonl --model gpt-4.1-mini-2025-04-14
run ftrouter advise configs/tasks/invoice-extraction.yaml
run ftrouter estimate --data configs/examples/chat.jsonl
run ftrouter compare --data configs/examples/chat.jsonl --task configs/tasks/invoice-extraction.yaml \
    --format html -o "$demo/report.html"
run ftrouter submit --backend openai --data configs/examples/chat.jsonl --model gpt-4.1-mini-2025-04-14 --dry-run
run python -m ftrouter_local.tiny "$demo/tiny-model" --data "$demo/tiny.jsonl"
run ftrouter submit --backend local --model "$demo/tiny-model" --data "$demo/tiny.jsonl" \
    --recipe tiny-cpu --max-steps 40 --wait
run ftrouter jobs
# close the loop: the base model and the fine-tune on the same examples, compared with statistics
job=$(ftrouter jobs --offline --json | python -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
run ftrouter eval --data "$demo/tiny.jsonl" --limit 20 --model "hf:$demo/tiny-model" --model "$job"
printf '\nThe comparison report is %s (open it in a browser); job state lives in %s.\n' \
    "$demo/report.html" "$FTROUTER_HOME"
