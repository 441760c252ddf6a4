#!/usr/bin/env bash
# Runs the commands of docs/walkthrough.md in DIR (default walk/) with default options and
# prints each step's exit code and time: `bash docs/walkthrough.sh /tmp/walk`.
# GAITSAE (default: gaitsae on PATH) is the command to run, e.g. GAITSAE=".venv/bin/gaitsae".
set -u
W=${1:-walk}
G=${GAITSAE:-gaitsae}
PORT=${PORT:-8799}
mkdir -p "$W" && cd "$W" || exit 2
step() { echo "=== $*"; local start=$SECONDS; $G "$@"; echo "=== exit $? ($((SECONDS - start)) s)"; }
step phantom --out data --subjects 40 --with-patients --patients 120
step train --data data --out runs/scaffold
step deviations runs/scaffold --data data --out deviations.parquet
step classify runs/scaffold --data data --out clinical
step analyze runs/scaffold
step encode runs/scaffold --out codes.csv
printf '[model]\nname = "scaffold"\n[grid]\n"model.k" = [4, 8]\n' > sweep.toml
step sweep sweep.toml --data data --out sweeps/k --workers 2
step sweep sweep.toml --data data --out sweeps/k --workers 2
echo "=== serve runs/scaffold --port $PORT"
$G serve runs/scaffold --port "$PORT" > serve.log 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/api/runs" > runs.json && break; sleep 2; done
echo "api/runs: $(head -c 300 runs.json 2>/dev/null)"
echo "search class=healthy control: $(curl -sf "http://127.0.0.1:$PORT/api/runs/scaffold/search?class=healthy%20control&limit=1" | head -c 120)"
echo "search class=HCX: $(curl -s "http://127.0.0.1:$PORT/api/runs/scaffold/search?class=HCX" | head -c 200)"
echo "search CSV feature=3: $(curl -sf "http://127.0.0.1:$PORT/api/runs/scaffold/search.csv?feature=3&above=1" | wc -l) lines"
echo "unknown feature page: HTTP $(curl -s -o /dev/null -w '%{http_code} %{content_type}' -H 'Accept: text/html' "http://127.0.0.1:$PORT/runs/scaffold/features/99")"
kill "$server"
wait "$server" 2>/dev/null
echo "=== end"
