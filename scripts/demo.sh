#!/usr/bin/env bash
# The main job, end to end, on loopback: starts the real distribution registry,
# publishes an ACR-Tasks-style build context to it, stores its credentials in the real
# docker-credential-pass helper, then runs acr-preflight twice:
#   1. as a CLI, on a correct set-up: passes;
#   2. as the GitHub Actions runner runs it (INPUT_* variables, step summary and output
#      files), on a broken set-up: fails with findings and their fixes.
# Exits 0 when both runs end as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cargo build --quiet --locked
bin="${CARGO_TARGET_DIR:-$root/target}/debug/acr-preflight"

work=$(mktemp -d "${TMPDIR:-/tmp}/acr-preflight-demo.XXXXXX")
registry_pid=""
cleanup() {
  set +e # clean up everything, whatever fails
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null; fi
  if [ -d "$work/gnupg" ]; then GNUPGHOME="$work/gnupg" gpgconf --kill gpg-agent 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- a real registry on 127.0.0.1, port chosen by the kernel ---------------------------
cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: info, accesslog: {disabled: true}}
storage: {inmemory: {}}
http: {addr: 127.0.0.1:0, secret: demo-not-secret}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
port=""
for _ in $(seq 1 200); do # the registry logs its port when it listens (about 80 ms)
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/registry.log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log"; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "registry did not start" >&2; cat "$work/registry.log"; exit 1; }
reg="127.0.0.1:$port"
say "registry listening on $reg"

# --- publish a build context: an OCI artifact whose layer is titled, as ACR Tasks needs ---
push_blob() { # repo file -> digest
  local repo=$1 file=$2 digest loc sep
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  loc=$(curl -fsS -o /dev/null -D - -X POST "http://$reg/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  case $loc in http*) ;; *) loc="http://$reg$loc" ;; esac
  sep='?'; [[ $loc == *\?* ]] && sep='&'
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$file" \
    "$loc${sep}digest=$digest" >/dev/null
  echo "$digest"
}
mkdir -p "$work/context"
printf 'FROM scratch\nCOPY hello.txt /\n' >"$work/context/Dockerfile"
echo hello >"$work/context/hello.txt"
tar -C "$work/context" -czf "$work/context.tar.gz" Dockerfile hello.txt
printf '{}' >"$work/config.json"
layer=$(push_blob team/ctx "$work/context.tar.gz")
config=$(push_blob team/ctx "$work/config.json")
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.acr-preflight.demo.context.v1",
"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$config","size":2},
"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$layer","size":$(stat -c %s "$work/context.tar.gz"),
"annotations":{"org.opencontainers.image.title":"context.tar.gz"}}]}
JSON
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary @"$work/manifest.json" "http://$reg/v2/team/ctx/manifests/v1" >/dev/null
say "published oci://$reg/team/ctx:v1"

# --- the real docker-credential-pass helper, with a throwaway gpg key ---------------------
export GNUPGHOME="$work/gnupg" PASSWORD_STORE_DIR="$work/pass"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-gen-key 'acr-preflight demo <demo@example.invalid>' default default never 2>/dev/null
pass init "$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')" >/dev/null 2>&1
printf '{"ServerURL":"%s","Username":"demo-user","Secret":"demo-password-not-real"}' "$reg" |
  docker-credential-pass store
mkdir -p "$work/docker-good" "$work/docker-broken"
printf '{"credHelpers":{"%s":"pass"}}\n' "$reg" >"$work/docker-good/config.json"
# A config copied from a laptop: Docker Desktop's helper does not exist on a runner.
printf '{"credsStore":"desktop"}\n' >"$work/docker-broken/config.json"

# --- run 1: the CLI on a correct set-up --------------------------------------------------
say "run 1: acr-preflight --registry $reg --context oci://$reg/team/ctx:v1 --docker-config <good>"
set +e
"$bin" --registry "$reg" --context "oci://$reg/team/ctx:v1" --docker-config "$work/docker-good"
first=$?
set -e
echo "exit status: $first"

# --- run 2: as the Actions runner runs it, on a broken set-up ------------------------------
say "run 2: as a GitHub Actions step (INPUT_* variables), broken set-up"
summary="$work/step_summary" outputs="$work/set_output"
: >"$summary"; : >"$outputs"
set +e
env GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY="$summary" GITHUB_OUTPUT="$outputs" \
  INPUT_REGISTRY="$reg" \
  INPUT_CONTEXT="oci://$reg/team/ctx:v1
docker-image://127.0.0.2:$port/team/base:latest
docker-image://$reg/Team/base" \
  INPUT_DOCKER-CONFIG="$work/docker-broken" \
  "$bin"
second=$?
set -e
echo "exit status: $second"
say "job summary (\$GITHUB_STEP_SUMMARY)"
cat "$summary"
say "step outputs (\$GITHUB_OUTPUT)"
cat "$outputs"

if [ "$first" = 0 ] && [ "$second" = 1 ]; then
  say "demo finished as expected: run 1 passed, run 2 failed with its fixes"
else
  echo "unexpected exit statuses: run 1 = $first (want 0), run 2 = $second (want 1)" >&2
  exit 1
fi
