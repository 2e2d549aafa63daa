#!/usr/bin/env bash
# Start-up and round-trip cost on the critical path, measured (not asserted): the mean
# wall time of N runs of the release binary for `explain` (start-up only) and for a full
# check of one context against the real registry on loopback (scripts/demo.sh's rig).
# Usage: scripts/bench.sh [N]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
cargo build --quiet --release --locked --bin acr-preflight --example demo_rig
bin=target/release/acr-preflight

mean_ms() { # command... -> mean milliseconds over $n runs
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  echo $(((end - start) / n / 1000000))
}

work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkfifo "$work/rig.in"
target/release/examples/demo_rig <"$work/rig.in" >"$work/rig.env" 2>/dev/null &
exec 3>"$work/rig.in"
for _ in $(seq 1 400); do grep -q '^READY=1$' "$work/rig.env" 2>/dev/null && break; sleep 0.05; done
# shellcheck disable=SC1091
. "$work/rig.env"
resolve=()
read -r -a specs <<<"${RESOLVE:?the rig sets RESOLVE}"
for spec in "${specs[@]}"; do resolve+=(--resolve "$spec"); done
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_HOST" "$(printf 'ci-bot:demo-password-not-real' | base64)" >"$work/config.json"

echo "binary size: $(stat -c %s "$bin") bytes"
echo "explain (start-up, no network): $(mean_ms "$bin" explain REF_INVALID) ms"
echo "one context, token registry over TLS: $(mean_ms "$bin" --registry myreg --context "oci://$REGISTRY_HOST/team/ctx:v1" "${resolve[@]}" --ca-file "$CA_FILE" --docker-config "$work") ms"
