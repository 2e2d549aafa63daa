#!/usr/bin/env bash
# The main job, end to end, on loopback:
#   - the real distribution registry serves `myreg.azurecr.io` over TLS with token auth
#     (an ES256 token server with ACR's /oauth2/token), reached through --resolve and a
#     throwaway CA, with a published build context (examples/demo_rig.rs);
#   - the registry password sits in the real docker-credential-pass helper;
#   - Entra ID, ARM and GitHub's OIDC endpoint are fakes at their real host names
#     (login.microsoftonline.com, management.azure.com), reached the same way;
#   - acr-preflight runs four times:
#     1. as a CLI, on a correct set-up: passes, with the context's digest;
#     2. as the GitHub Actions runner runs it (INPUT_* variables, step summary and output
#        files), with a mistyped tag and a push the identity may not do: fails, with fixes;
#     3. signing in with the job's OIDC token to an app whose federated credential
#        trusts another subject: fails with the subject presented and the exact command;
#     4. signing in as an app that holds no role on the registry: fails with the exact
#        role assignment.
# Exits 0 when all four runs end as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cargo build --quiet --locked --bin acr-preflight --example demo_rig
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="$target_dir/debug/acr-preflight"

work=$(mktemp -d "${TMPDIR:-/tmp}/acr-preflight-demo.XXXXXX")
rig_pid=""
cleanup() {
  set +e # clean up everything, whatever fails
  exec 3>&- 2>/dev/null # closing the rig's stdin stops it and the registry
  if [ -n "$rig_pid" ]; then wait "$rig_pid" 2>/dev/null; fi
  if [ -d "$work/gnupg" ]; then GNUPGHOME="$work/gnupg" gpgconf --kill gpg-agent 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- the registry rig: runs until fd 3 closes -----------------------------------------------
# shellcheck source=scripts/lib/rig.sh
. scripts/lib/rig.sh
start_rig "$target_dir/debug/examples/demo_rig" "$work" ||
  { echo "the registry rig did not start" >&2; cat "$work/rig.log"; exit 1; }
say "registry $REGISTRY_HOST (token auth, TLS) and Entra/ARM fakes reached with --resolve $RESOLVE; oci://$REGISTRY_HOST/team/ctx:v1 is $CONTEXT_DIGEST"

# --- the real docker-credential-pass helper, with a throwaway gpg key ---------------------
export GNUPGHOME="$work/gnupg" PASSWORD_STORE_DIR="$work/pass"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-gen-key 'acr-preflight demo <demo@example.invalid>' default default never 2>/dev/null
pass init "$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')" >/dev/null 2>&1
printf '{"ServerURL":"%s","Username":"ci-bot","Secret":"demo-password-not-real"}' "$REGISTRY_HOST" |
  docker-credential-pass store
mkdir -p "$work/docker"
printf '{"credHelpers":{"%s":"pass"}}\n' "$REGISTRY_HOST" >"$work/docker/config.json"

resolve_args=() resolve_lines=()
read -r -a resolve_lines <<<"$RESOLVE" # space-separated HOST=IP:PORT specs
for spec in "${resolve_lines[@]}"; do resolve_args+=(--resolve "$spec"); done
common=("${resolve_args[@]}" --ca-file "$CA_FILE" --docker-config "$work/docker")

# --- run 1: the CLI on a correct set-up --------------------------------------------------
say "run 1: acr-preflight --registry myreg --context oci://$REGISTRY_HOST/team/ctx:v1"
set +e
"$bin" --registry myreg --context "oci://$REGISTRY_HOST/team/ctx:v1" "${common[@]}"
first=$?
set -e
echo "exit status: $first"

# --- run 2: as the Actions runner runs it, with two mistakes -------------------------------
say "run 2: as a GitHub Actions step (INPUT_* variables): tag v1.1 does not exist, and ci-bot may not push"
summary="$work/step_summary" outputs="$work/set_output"
: >"$summary"
: >"$outputs"
set +e
env GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$summary" GITHUB_OUTPUT="$outputs" \
  INPUT_REGISTRY=myreg \
  INPUT_CONTEXT="oci://$REGISTRY_HOST/team/ctx:v1.1" \
  INPUT_PUSH="$REGISTRY_HOST/team/app:v2" \
  INPUT_RESOLVE="$(printf '%s\n' "${resolve_lines[@]}")" \
  INPUT_CA-FILE="$CA_FILE" \
  INPUT_DOCKER-CONFIG="$work/docker" \
  "$bin"
second=$?
set -e
echo "exit status: $second"
say "job summary (\$GITHUB_STEP_SUMMARY)"
cat "$summary"
say "step outputs (\$GITHUB_OUTPUT)"
cat "$outputs"

# --- runs 3 and 4: the Azure identity, signed in with this job's GitHub OIDC token -----------
azure=(--tenant-id "$TENANT" --subscription-id "$SUBSCRIPTION" --context "oci://$REGISTRY_HOST/team/ctx:v1")
say "run 3: OIDC sign-in as app $APP_MISMATCH, whose federated credential trusts refs/heads/main; this job runs for a pull request"
set +e
env ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL" ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  "$bin" --registry myreg --client-id "$APP_MISMATCH" "${azure[@]}" "${common[@]}" 2>&1
third=$?
say "run 4: OIDC sign-in as app $APP_NOROLE, which holds no role on the registry"
env ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL" ACTIONS_ID_TOKEN_REQUEST_TOKEN="$ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  "$bin" --registry myreg --client-id "$APP_NOROLE" "${azure[@]}" "${common[@]}" 2>&1
fourth=$?
set -e
echo "exit statuses: run 3 = $third, run 4 = $fourth"

if [ "$first" = 0 ] && [ "$second" = 1 ] && [ "$third" = 1 ] && [ "$fourth" = 1 ]; then
  say "demo finished as expected: run 1 passed; runs 2, 3 and 4 failed with their fixes"
else
  echo "unexpected exit statuses: run 1 = $first (want 0), run 2 = $second, run 3 = $third, run 4 = $fourth (want 1)" >&2
  exit 1
fi
