#!/usr/bin/env bash
# Fuzzes every service of a running stack from its own /openapi.json with schemathesis: a bounded number of
# examples per operation, once with the right credentials and once without. Fails on any 5xx, crash, or response
# that does not match its documented status, content type and schema (the error envelope included).
#   tests/stack/fuzz.sh STACK_ENV_FILE REPORT_DIR [EXAMPLES]
# Every check schemathesis has is on; nothing is excluded (tests/stack/schemathesis.toml says what it expects besides
# its defaults, and why). Prints one line per service and run with the cases run and the failures found; writes
# each run's log and JUnit report to REPORT_DIR, and the lines to REPORT_DIR/summary.txt.
# It writes as the admin would (silences, releases, replicas, warming jobs, demo data): run it on a scratch stack
# (WEDSYNC_STACK_DIR=/tmp/x WEDSYNC_STACK_PORTS=free scripts/stack up), as the stack smoke test does.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 STACK_ENV_FILE REPORT_DIR [EXAMPLES (default 10)]" >&2; exit 2; }
env_file="$1"; reports="$2"; examples="${3:-10}"
[ -f "$env_file" ] || ws_die "no stack env file at $env_file"
mkdir -p "$reports"
reports="$(cd "$reports" && pwd)"
config="$(cd "$(dirname "$0")" && pwd)/schemathesis.toml"
version=4.32.5
if [ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null || true)" != "$version" ]; then
    ws_ensure_packages python3-pip
    ws_log "installing Python package schemathesis==$version"
    python3 -m pip install --quiet "schemathesis==$version" >/dev/null 2>&1 \
        || python3 -m pip install --quiet --break-system-packages "schemathesis==$version" >/dev/null \
        || ws_die "pip could not install schemathesis==$version"
fi
# Its command line, from the python3 pip installed it for (its `st` script may not be on PATH).
st() { python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "st"; sys.exit(schemathesis())' "$@"; }
admin="$(ws_env_value "$env_file" WEDSYNC_ADMIN_TOKEN)"
demo="$(ws_env_value "$env_file" WEDSYNC_DEMO_TOKEN)"
[ -n "$admin" ] && [ -n "$demo" ] || ws_die "$env_file has no admin or demo token"

# fuzz_one NAME PORT RUN TOKEN — one schemathesis run; prints its summary line. The credential goes in through a
# config file naming an environment variable, never on a command line (where `ps` shows it). One worker per run,
# and the two runs of a service side by side: schemathesis's threads trip a CPython 3.11 bug in `ast` (a
# SystemError while generating).
fuzz_one() {
    local name="$1" port="$2" run="$3" token="$4" result cases log="$reports/$1-$3.log" run_config="$reports/$1-$3.toml"
    { [ "$run" = credentials ] && echo 'headers = { Authorization = "Bearer ${WEDSYNC_FUZZ_TOKEN}" }'; cat "$config"; } >"$run_config"
    if (cd "$reports" && WEDSYNC_FUZZ_TOKEN="$token" st --config-file "$run_config" run "http://127.0.0.1:$port/openapi.json" \
        --url "http://127.0.0.1:$port" --checks all --max-examples "$examples" --seed 20261203 --workers 1 --request-timeout 30 \
        --generation-database none --no-color --suppress-health-check all \
        --report junit --report-junit-path "$reports/$name-$run.xml") >"$log" 2>&1; then
        result=passed
    else
        result=FAILED
    fi
    cases="$(python3 - "$reports/$name-$run.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    print(f"{tests} operations, {failures} failing")
except Exception as error:
    print(f"no report ({error})")
PY
)"
    echo "$name $run: $result ($cases; $(grep -Eo '[0-9]+ generated' "$log" | tail -n 1 || echo '? generated'), $(grep -Eo 'in [0-9.]+s =' "$log" | tail -n 1 | tr -d 'in =' || echo '?'))"
}

# failures LOG TOKEN — what a failed run found, for the CI log (the report directory goes with the machine): the
# log from its first failure on, at most 120 lines, every credential written as [redacted].
failures() {
    WEDSYNC_FUZZ_TOKEN="$2" python3 - "$1" <<'PY'
import os, re, sys
text = open(sys.argv[1], errors="replace").read()
for secret in {os.environ["WEDSYNC_FUZZ_TOKEN"]}:
    text = text.replace(secret, "[redacted]")
text = re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+", r"\1[redacted]", text)
lines = text.splitlines()
start = next((i for i, line in enumerate(lines) if "FAILURES" in line or "❌" in line), max(0, len(lines) - 60))
print("\n".join("    | " + line for line in lines[start:start + 120]))
PY
}

status=0
summary="$reports/summary.txt"
: >"$summary"
while read -r name folder default_port; do
    port="$(ws_env_value "$env_file" "PORT_${name//-/_}")"
    [ -n "$port" ] || { echo "$name: FAILED (no port in $env_file)" | tee -a "$summary" >&2; status=1; continue; }
    # The API's routes are a supplier's (its token), every other service's an operator's (the admin token).
    token="$admin"; [ "$name" = wedsync-api ] && token="$demo"
    pids=()
    for run in credentials anonymous; do
        fuzz_one "$name" "$port" "$run" "$token" >"$reports/$name-$run.line" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    for run in credentials anonymous; do
        line="$(cat "$reports/$name-$run.line")"; rm -f "$reports/$name-$run.line"
        [ -n "$line" ] || { line="$name $run: FAILED (the run died: $reports/$name-$run.log)"; }
        echo "$line" | tee -a "$summary" >&2
        case "$line" in *": passed ("*) ;; *) status=1; failures "$reports/$name-$run.log" "$token" >&2 ;; esac
    done
done < <(ws_services)
exit "$status"
