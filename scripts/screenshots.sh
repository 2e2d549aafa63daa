#!/usr/bin/env bash
# The README's pictures, from real runs against the demo's registry rig
# (examples/demo_rig.rs, the same rig scripts/demo.sh uses):
#   docs/images/summary-fail.png   the job summary of a failing run: three contexts (a tag
#                                  that does not exist, a mistyped repository, one fine)
#                                  and a push the credential may not do;
#   docs/images/summary-pass.png   the job summary of a passing run;
#   docs/images/annotations.png    the failing run's findings on the workflow file.
# The summary Markdown is rendered with a GFM renderer (comrak, examples/render_summary.rs,
# GitHub-like CSS) and photographed with headless Chromium. Needs chromium
# (apt-get install -y chromium); not part of scripts/test.sh.
# Usage: scripts/screenshots.sh [OUT_DIR]   (default docs/images)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="${1:-$root/docs/images}"
mkdir -p "$out"

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium is needed: apt-get install -y chromium" >&2
  exit 1
fi

cargo build --quiet --locked --bin acr-preflight --example demo_rig --example render_summary
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="$target_dir/debug/acr-preflight"
render="$target_dir/debug/examples/render_summary"

work=$(mktemp -d "${TMPDIR:-/tmp}/acr-preflight-shots.XXXXXX")
rig_pid=""
cleanup() {
  set +e
  exec 3>&- 2>/dev/null # closing the rig's stdin stops it and the registry
  if [ -n "$rig_pid" ]; then wait "$rig_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the registry rig (as in scripts/demo.sh) --------------------------------------------
# shellcheck source=scripts/lib/rig.sh
. scripts/lib/rig.sh
start_rig "$target_dir/debug/examples/demo_rig" "$work" ||
  { echo "the registry rig did not start" >&2; cat "$work/rig.log"; exit 1; }
resolve_lines=()
read -r -a resolve_lines <<<"$RESOLVE"

# ci-bot's docker login, as docker writes it.
mkdir -p "$work/docker"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY_HOST" \
  "$(printf '%s' 'ci-bot:demo-password-not-real' | base64 -w0)" >"$work/docker/config.json"

# The job's workspace: the workflow the preflight step runs in.
ws="$work/workspace"
mkdir -p "$ws/.github/workflows"
workflow=.github/workflows/build.yml
cat >"$ws/$workflow" <<EOF
name: build
on: pull_request
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: docker/login-action@v3
        with:
          registry: $REGISTRY_HOST
          username: ci-bot
          password: \${{ secrets.ACR_PASSWORD }}
      - id: preflight
        uses: acr-preflight/acr-preflight@v1
        with:
          registry: myreg
          context: |
            CONTEXTS
          push: PUSH
EOF

# One run as the Actions runner runs the step; prints the summary file's path.
run() { # name contexts(newline-separated) push
  local name=$1 contexts=$2 push=$3 dir="$work/$1"
  mkdir -p "$dir"
  : >"$dir/summary.md"
  : >"$dir/output"
  # The workflow shows this run's inputs.
  local indented
  indented=$(printf '%s\n' "$contexts" | sed '2,$s/^/            /')
  awk -v c="$indented" -v p="$push" '{ sub(/CONTEXTS/, c); sub(/PUSH/, p); print }' \
    "$ws/$workflow" >"$dir/build.yml"
  cp "$dir/build.yml" "$ws/$workflow.run"
  mv "$ws/$workflow.run" "$ws/$workflow"
  set +e
  env -i PATH="$PATH" HOME="$work" \
    GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$dir/summary.md" GITHUB_OUTPUT="$dir/output" \
    GITHUB_WORKSPACE="$ws" GITHUB_WORKFLOW_REF="octo/app/$workflow@refs/pull/42/merge" \
    GITHUB_JOB=build GITHUB_ACTION=preflight GITHUB_REPOSITORY=octo/app \
    GITHUB_SHA=4c1e2a9f0b7d3e6a5c8b1f2e9d0a7c6b5e4f3a21 GITHUB_SERVER_URL=https://github.com \
    GITHUB_ACTION_REPOSITORY=acr-preflight/acr-preflight \
    INPUT_REGISTRY=myreg INPUT_CONTEXT="$contexts" INPUT_PUSH="$push" \
    INPUT_RESOLVE="$(printf '%s\n' "${resolve_lines[@]}")" \
    INPUT_CA-FILE="$CA_FILE" INPUT_DOCKER-CONFIG="$work/docker" \
    "$bin" >"$dir/stdout" 2>"$dir/stderr"
  local status=$?
  set -e
  echo "$name: exit status $status, summary $(wc -c <"$dir/summary.md") bytes" >&2
}

shoot() { # html png height
  "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/chromium" --window-size="1000,$3" --screenshot="$2" "file://$1" \
    >/dev/null 2>&1
  echo "wrote $2" >&2
}

run fail "oci://$REGISTRY_HOST/team/ctx:v1.1
oci://$REGISTRY_HOST/taem/ctx:v1
oci://$REGISTRY_HOST/team/ctx:v1" "$REGISTRY_HOST/team/app:v2"
run pass "oci://$REGISTRY_HOST/team/ctx:v1" ""

"$render" summary "$work/fail/summary.md" "$work/fail.html"
"$render" summary "$work/pass/summary.md" "$work/pass.html"
report=$(awk '/^report<</{getline; print; exit}' "$work/fail/output")
case "$report" in /*) ;; *) report="$ws/$report" ;; esac
"$render" annotations "$report" "$work/fail/build.yml" "$work/annotations.html"

shoot "$work/fail.html" "$out/summary-fail.png" 1650
shoot "$work/pass.html" "$out/summary-pass.png" 420
shoot "$work/annotations.html" "$out/annotations.png" 880
