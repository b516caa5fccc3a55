#!/usr/bin/env bash
# The benchmarks: `bash bench/run.sh [redirect|webhook|rollup|reports|memory] [args]` (make bench,
# bench-webhook, bench-rollup, bench-reports, bench-memory) runs bench/<name>.py; each file's docstring says
# what it measures and its BENCH_* settings. Exit: 0 measured (targets print PASS/MISS), 1 a
# count or accounting failed, 2 harness failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
if [ ! -x "$PY" ]; then
    echo "bench: $PY is missing; run: make .venv/bin/tracker" >&2
    exit 2
fi
if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tracker-bench.XXXXXX")
export BENCH_TMP
driver=""

cleanup() {
    # The driver stops its servers itself; this is the safety net if it could not (killed,
    # crashed): every server it started leads a process group listed in $BENCH_TMP/pids.
    if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
        kill -TERM "$driver" 2>/dev/null || true
        wait "$driver" 2>/dev/null || true
    fi
    if [ -s "$BENCH_TMP/pids" ]; then
        while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done <"$BENCH_TMP/pids"
        sleep 1
        while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done <"$BENCH_TMP/pids"
    fi
    rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

name="${1:-redirect}"
case "$name" in redirect|webhook|rollup|reports|useragents|memory|cluster) ;; *) echo "bench: unknown benchmark $name" >&2; exit 2 ;; esac
shift || true
# In the background so that a signal to this script is handled at once, not after the driver.
"$PY" "bench/$name.py" "$@" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
exit "$status"
