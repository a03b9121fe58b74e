#!/usr/bin/env bash
# Schemathesis against the explorer's OpenAPI document, on the dev server
# (the demo year on a dev chain), with a bounded budget. Every check runs on
# every route, except that two kinds of schema-valid request may be refused
# by rules no schema states: a record that does not decode or verify (its
# bytes and signature), and a proof between sizes or heights out of order
# (from > to).
#
#   explorer/tests/schemathesis.sh [SCHEMATHESIS] [DEV_SERVER] [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/../.."
st=${1:-schemathesis}
server=${2:-target/debug/examples/dev_server}
examples=${3:-10}
log=$(mktemp)
"$server" --port 0 --quiet >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  url=$(head -n 1 "$log" || true)
  [[ $url == http* ]] && break
  sleep 0.1
done
[[ $url == http* ]] || { echo "the dev server did not start:"; cat "$log"; exit 1; }
semantic='^/api/v1/(records|records/batch|proofs/consistency|checkpoints/proof)$'
common=(--checks all --max-examples "$examples" --workers 1 --seed 1 --no-color)
"$st" --config-file explorer/tests/schemathesis.toml run "$url/api/openapi.json" "${common[@]}" --exclude-path-regex "$semantic"
"$st" --config-file explorer/tests/schemathesis.toml run "$url/api/openapi.json" "${common[@]}" --include-path-regex "$semantic" \
  --exclude-checks positive_data_acceptance
