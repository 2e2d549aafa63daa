#!/usr/bin/env bash
# The container action as GitHub runs it, end to end, on this machine:
#   1. builds the static (musl) binary and the image from `Dockerfile` with buildah, and
#      checks the image: at most 15 MB, exactly the binary and the CA bundle, the entrypoint;
#   2. runs that image with podman the way the Actions runner runs a `runs.using: docker`
#      action (actions/runner ContainerActionHandler.cs): the same mounts, working directory,
#      environment, INPUT_* variables and host-to-container path translation;
#   3. against the demo registry (examples/demo_rig.rs: TLS, token auth, team/ctx published),
#      four scenarios, each checked on the exit status, $GITHUB_OUTPUT, the step summary,
#      the JSON report and the workflow commands on stdout.
# Prints `ok - …` / `not ok - …` per check, the image size and the times, and exits
# non-zero when any check failed. Everything it starts or creates is removed on exit: the
# container storage lives in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
musl_target=x86_64-unknown-linux-musl
image=localhost/acr-preflight:test
secret=demo-password-not-real
secret_b64=$(printf 'ci-bot:%s' "$secret" | base64 -w0)

# --- state and cleanup: everything is created under $work --------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/acr-preflight-container.XXXXXX")
store="$work/storage"
buildah_=(buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs)
podman_=(podman --root "$store/root" --runroot "$store/run" --tmpdir "$store/tmp"
  --storage-driver vfs --runtime runc --events-backend file)
rig_pid=""
build_ctr=""     # a buildah working container, while the image's files are read
image_built=""   # set once the image exists in $store
run_names=()     # podman containers started, by name
# What the container tools create outside --root/--runroot on a first use; removed again
# when this run created them (and they are empty: a busy cgroup refuses rmdir).
outside=(/var/lib/containers /run/runc)
for p in /sys/fs/cgroup/*/; do outside+=("${p}libpod_parent"); done # podman's cgroups (v1)
created_outside=()
for p in "${outside[@]}"; do [ -e "$p" ] || created_outside+=("$p"); done
cleanup() {
  set +e # clean up everything, whatever fails
  local name p
  for name in "${run_names[@]}"; do
    "${podman_[@]}" rm --force --ignore --time 0 "$name" >/dev/null 2>&1
  done
  if [ -n "$build_ctr" ]; then
    "${buildah_[@]}" umount "$build_ctr" >/dev/null 2>&1
    "${buildah_[@]}" rm "$build_ctr" >/dev/null 2>&1
  fi
  if [ -n "$image_built" ]; then "${buildah_[@]}" rmi --force "$image" >/dev/null 2>&1; fi
  exec 3>&- 2>/dev/null # closing the rig's stdin stops it and the registry
  if [ -n "$rig_pid" ]; then wait "$rig_pid" 2>/dev/null; fi
  rm -rf "$work"
  for p in "${created_outside[@]}"; do
    if [ "${p#/sys/fs/cgroup/}" != "$p" ]; then
      [ -d "$p/conmon" ] && rmdir "$p/conmon" 2>/dev/null
      rmdir "$p" 2>/dev/null
    elif [ "$p" = /var/lib/containers ]; then
      # only the blob-info cache buildah's commit writes there
      rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
      rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null
    else
      rmdir "$p" 2>/dev/null
    fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failures=0
ok() { printf 'ok - %s\n' "$*"; }
not_ok() {
  printf 'not ok - %s\n' "$*"
  failures=$((failures + 1))
}
check() { # check DESCRIPTION COMMAND...: one line, ok or not ok, by the command's status
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }
say() { printf '# %s\n' "$*"; }

# --- 1. the static binary ------------------------------------------------------------------
t0=$(now)
CC_x86_64_unknown_linux_musl=musl-gcc cargo build --quiet --release --locked \
  --target "$musl_target" --bin acr-preflight
cargo build --quiet --locked --example demo_rig
say "cargo build (release, $musl_target; demo_rig): $(elapsed "$t0")"
bin="$target_dir/$musl_target/release/acr-preflight"

is_static() { # no program interpreter and no shared library needed
  local headers
  if command -v readelf >/dev/null; then
    headers=$(readelf --program-headers --dynamic "$1")
    ! grep -q 'INTERP' <<<"$headers" && ! grep -q '(NEEDED)' <<<"$headers"
  else
    grep -Eq 'statically linked|static-pie linked' <<<"$(file -b "$1")"
  fi
}
check "the binary is statically linked ($(file -b "$bin" | grep -Eo '(static|dynamic)[a-z-]* linked|interpreter [^,]*'))" is_static "$bin"

# --- 2. the image, from the repository's Dockerfile, in a context laid out as it expects ---
ctx="$work/context"
mkdir -p "$ctx/dist/linux-amd64" "$store/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/dist/ca-certificates.crt"
cp "$bin" "$ctx/dist/linux-amd64/acr-preflight"
cp Dockerfile "$ctx/Dockerfile"
t0=$(now)
# buildah sets TARGETARCH from --platform; the context holds only dist/linux-amd64, so the
# COPY succeeds only when TARGETARCH=amd64. Older buildah left it empty: pass it then.
if (cd "$ctx" && "${buildah_[@]}" bud --isolation chroot --platform linux/amd64 \
  -t "$image" . >"$work/build.log" 2>&1); then
  image_built=1
elif grep -q 'dist/linux-/acr-preflight' "$work/build.log" &&
  (cd "$ctx" && "${buildah_[@]}" bud --isolation chroot --platform linux/amd64 \
    --build-arg TARGETARCH=amd64 -t "$image" . >"$work/build.log" 2>&1); then
  image_built=1
  say "this buildah does not set TARGETARCH for --platform: passed --build-arg TARGETARCH=amd64"
else
  cat "$work/build.log" >&2
  not_ok "buildah bud of Dockerfile"
  exit 1
fi
say "image build (buildah bud, vfs, chroot isolation): $(elapsed "$t0")"
ok "buildah bud --platform linux/amd64 builds Dockerfile as written (TARGETARCH=amd64 from --platform)"

# Size: the image's layers as stored (uncompressed tar), from its manifest.
inspect=$("${buildah_[@]}" inspect --type image "$image")
manifest=$(jq -r .Manifest <<<"$inspect")
size=$(jq '[.layers[].size] | add' <<<"$manifest")
shown=$("${buildah_[@]}" images --format '{{.Size}}' "$image")
say "image size: $size bytes in $(jq '.layers | length' <<<"$manifest") layer(s) (buildah images: $shown)"
check "the image is at most 15,000,000 bytes ($size)" test "$size" -le 15000000

config=$(jq .OCIv1 <<<"$inspect")
check "entrypoint is [\"/acr-preflight\"], no cmd, no user, linux/amd64" \
  test "$(jq -c '[.config.Entrypoint, .config.Cmd, (.config.User // ""), .os, .architecture]' <<<"$config")" \
  = '[["/acr-preflight"],null,"","linux","amd64"]'

build_ctr=$("${buildah_[@]}" from --pull-never "$image")
mnt=$("${buildah_[@]}" mount "$build_ctr")
files=$(cd "$mnt" && find . -mindepth 1 -printf '%y %m %P\n' | sort -k3)
expected=$'d 755 etc\nd 755 etc/ssl\nd 755 etc/ssl/certs\nf 644 etc/ssl/certs/ca-certificates.crt\nf 755 acr-preflight'
expected=$(sort -k3 <<<"$expected")
if [ "$files" = "$expected" ]; then
  ok "the image holds exactly /acr-preflight and /etc/ssl/certs/ca-certificates.crt"
else
  not_ok "the image holds exactly /acr-preflight and /etc/ssl/certs/ca-certificates.crt; it holds:"
  while IFS= read -r line; do printf '#   %s\n' "$line"; done <<<"$files"
fi
check "/acr-preflight is the binary built, the CA bundle the system's" \
  cmp -s "$mnt/acr-preflight" "$bin" && cmp -s "$mnt/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt
"${buildah_[@]}" umount "$build_ctr" >/dev/null
"${buildah_[@]}" rm "$build_ctr" >/dev/null
build_ctr=""

# --- 3. the registry rig: runs until fd 3 closes -------------------------------------------
# shellcheck source=scripts/lib/rig.sh
. scripts/lib/rig.sh
if ! start_rig "$target_dir/debug/examples/demo_rig" "$work"; then
  not_ok "the registry rig starts"
  cat "$work/rig.log" >&2
  exit 1
fi
say "registry $REGISTRY_HOST via --resolve $RESOLVE; oci://$REGISTRY_HOST/team/ctx:v1 is $CONTEXT_DIGEST"

# --- the runner's way of running a container action ----------------------------------------
# Each run gets the runner's host directories under $work/<run>/ (the runner's temp
# directory `_temp` with _github_home, _github_workflow, _runner_file_commands, and the
# workspace), so scenarios see nothing of each other.
new_run() { # new_run NAME: sets $run_dir, $ws (host workspace) and $rt (host RUNNER_TEMP)
  run_dir="$work/$1"
  ws="$run_dir/work/app/app"
  rt="$run_dir/work/_temp"
  mkdir -p "$ws" "$rt/_github_home" "$rt/_github_workflow" "$rt/_runner_file_commands"
}

# Every input of action.yml, with its default ('' when it has none), as the runner sets
# them (ActionRunner.cs merges the manifest's defaults into the step's inputs).
action_inputs() {
  awk '
    /^inputs:/ { on = 1; next }
    /^[^ ]/ { on = 0 }
    on && /^  [A-Za-z0-9_-]+:[ ]*$/ { if (name != "") print name "=" def; name = $1; sub(/:$/, "", name); def = ""; next }
    on && /^    default:/ { v = $0; sub(/^    default:[ ]*/, "", v); gsub(/^'\''|'\''$/, "", v); def = v }
    END { if (name != "") print name "=" def }
  ' "$root/action.yml"
}

# run_action NAME RUNNER [with NAME=VALUE]... [env NAME=VALUE]...
#   RUNNER  `new` (≥ 2.329: RUNNER_TEMP is mounted at /github/runner_temp) or `old`.
#   with    a `with:` input of the step;   env  a variable the step gets (job-level env).
# Values are given as on the runner (host paths); like the runner, every value that starts
# with a mounted host directory is rewritten to the container path. Needs new_run first.
# Leaves $run_dir/stdout, stderr, status, output (GITHUB_OUTPUT), summary (step summary),
# and prints the run's time.
run_action() {
  local name=$1 runner=$2
  shift 2
  local -A inputs=() env=()
  local kv k uuid
  while IFS= read -r kv; do inputs[${kv%%=*}]=${kv#*=}; done < <(action_inputs)
  while (($#)); do
    kv=$2
    case $1 in
      with) inputs[${kv%%=*}]=${kv#*=} ;;
      env) env[${kv%%=*}]=${kv#*=} ;;
      *) echo "run_action: $1?" >&2 && return 2 ;;
    esac
    shift 2
  done
  uuid=$(cat /proc/sys/kernel/random/uuid)
  : >"$rt/_runner_file_commands/set_output_$uuid"
  : >"$rt/_runner_file_commands/step_summary_$uuid"
  printf '{"ref":"refs/heads/main","repository":{"full_name":"octo/app"}}\n' >"$rt/_github_workflow/event.json"
  # host path -> container path, in the runner's order (ContainerActionHandler.cs)
  local -a maps=("$rt/_github_home=/github/home" "$rt/_github_workflow=/github/workflow"
    "$rt/_runner_file_commands=/github/file_commands" "$ws=/github/workspace")
  local -a mounts=()
  if [ "$runner" = new ]; then maps+=("$rt=/github/runner_temp"); fi
  for kv in "${maps[@]}"; do mounts+=(-v "${kv%%=*}:${kv#*=}"); done
  # the step's environment on the runner: github context, runner context, inputs, env
  env[GITHUB_ACTIONS]=true
  env[CI]=true
  env[HOME]="$rt/_github_home"
  env[GITHUB_WORKSPACE]="$ws"
  env[GITHUB_OUTPUT]="$rt/_runner_file_commands/set_output_$uuid"
  env[GITHUB_STEP_SUMMARY]="$rt/_runner_file_commands/step_summary_$uuid"
  env[GITHUB_EVENT_PATH]="$rt/_github_workflow/event.json"
  env[GITHUB_EVENT_NAME]=push
  env[GITHUB_REPOSITORY]=octo/app
  env[GITHUB_REF]=refs/heads/main
  env[GITHUB_SHA]=0123456789abcdef0123456789abcdef01234567
  env[GITHUB_RUN_ID]=1
  env[GITHUB_JOB]=build
  env[GITHUB_ACTION]=preflight
  env[RUNNER_OS]=Linux
  env[RUNNER_ARCH]=X64
  env[RUNNER_TEMP]="$rt"
  for k in "${!inputs[@]}"; do env["INPUT_${k^^}"]=${inputs[$k]}; done
  local -a envs=()
  local value m host ctr
  for k in "${!env[@]}"; do
    value=${env[$k]}
    for m in "${maps[@]}"; do # TranslateToContainerPath: the first mapping that matches
      host=${m%%=*} ctr=${m#*=}
      if [ "$value" = "$host" ] || [ "${value#"$host"/}" != "$value" ]; then
        value="$ctr${value#"$host"}"
        break
      fi
    done
    envs+=(-e "$k=$value")
  done
  local t0 status
  t0=$(now)
  run_names+=("acr-preflight-test-$name-$$")
  set +e
  "${podman_[@]}" run --rm --name "acr-preflight-test-$name-$$" \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host \
    --workdir /github/workspace "${mounts[@]}" "${envs[@]}" "$image" \
    >"$run_dir/stdout" 2>"$run_dir/stderr"
  status=$?
  set -e
  echo "$status" >"$run_dir/status"
  cp "$rt/_runner_file_commands/set_output_$uuid" "$run_dir/output"
  cp "$rt/_runner_file_commands/step_summary_$uuid" "$run_dir/summary"
  say "run $name ($runner runner): exit $status in $(elapsed "$t0")"
}

# output_value FILE NAME: a step output from a $GITHUB_OUTPUT file, in either of its
# forms, `name=value` or `name<<DELIMITER` … `DELIMITER` (the last one set wins).
output_value() {
  awk -v want="$2" '
    in_doc { if ($0 == delim) { in_doc = 0; if (name == want) { val = acc; found = 1 } }
             else { acc = (started ? acc "\n" : "") $0; started = 1 }
             next }
    /^[^=<]+<</ { i = index($0, "<<"); name = substr($0, 1, i - 1); delim = substr($0, i + 2)
                  in_doc = 1; acc = ""; started = 0; next }
    /^[^=]+=/ { i = index($0, "="); if (substr($0, 1, i - 1) == want) { val = substr($0, i + 1); found = 1 } }
    END { if (in_doc) exit 3; if (found) print val; else exit 1 }
  ' "$1"
}

# The JSON report, at the path the `report` output names (relative: to the workspace).
report_file() {
  local r
  r=$(output_value "$run_dir/output" report) || return 1
  case $r in
    /github/workspace/*) printf '%s' "$ws/${r#/github/workspace/}" ;;
    /*) printf '%s' "$r" ;;
    *) printf '%s' "$ws/$r" ;;
  esac
}
report_codes() { # the finding codes in the JSON report, one line, sorted
  local f
  if ! f=$(report_file) || [ ! -f "$f" ]; then
    echo "(no report)"
    return
  fi
  jq -r '[.. | objects | .code? // empty | strings] | unique | join(" ")' "$f"
}
describe_run() { # what a run printed, for the report and for a failing check
  say "  exit $(cat "$run_dir/status"); result=$(output_value "$run_dir/output" result || echo '?'); codes: $(report_codes)"
  grep -E '^::(error|warning|notice)' "$run_dir/stdout" | cut -c1-400 | sed 's/^/#   /' || true
}

# After a scenario's checks: everything the run left, when one of them failed (or always
# with CONTAINER_TEST_VERBOSE=1), so that a failure can be read from the log alone.
dump_run_if() {
  if [ "$failures" = "$1" ] && [ "${CONTAINER_TEST_VERBOSE:-}" != 1 ]; then return; fi
  local f
  for f in stdout stderr output summary; do
    say "  --- $f"
    sed 's/^/#   /' "$run_dir/$f"
  done
}

has_line() { grep -Eq -- "$2" "$1"; }
no_line() { ! grep -Eq -- "$2" "$1"; }
no_annotation() { # no_annotation FILE LEVEL TEXT: no `::LEVEL` command that contains TEXT
  ! grep -E "^::$2( |::)" "$1" | grep -Fq -- "$3"
}
no_secret_in() {
  local f
  for f in "$@"; do
    [ -n "$f" ] || continue
    # a secret may only appear on an `::add-mask::` line, which hides it from the log
    if grep -v '^::add-mask::' "$f" | grep -Fq -e "$secret" -e "$secret_b64"; then return 1; fi
  done
}
docker_config() { # docker_config DIR JSON
  mkdir -p "$1"
  printf '%s\n' "$2" >"$1/config.json"
}
auths_config="{\"auths\":{\"$REGISTRY_HOST\":{\"auth\":\"$secret_b64\"}}}"
resolve_input=""
for spec in $RESOLVE; do resolve_input+="$spec"$'\n'; done

# --- a. a correct set-up, runner ≥ 2.329 ---------------------------------------------------
new_run a
before=$failures
cp "$CA_FILE" "$ws/demo-ca.pem"
docker_config "$ws/.docker" "$auths_config"
run_action a new with registry=myreg with "context=oci://$REGISTRY_HOST/team/ctx:v1" \
  with "resolve=$resolve_input" with "ca-file=$ws/demo-ca.pem" env "DOCKER_CONFIG=$ws/.docker"
describe_run
check "a: correct set-up: exit 0" test "$(cat "$run_dir/status")" = 0
check "a: result=pass" test "$(output_value "$run_dir/output" result)" = pass
check "a: digest=$CONTEXT_DIGEST (the context's)" test "$(output_value "$run_dir/output" digest)" = "$CONTEXT_DIGEST"
check "a: the step summary is written and names the digest" grep -qF "$CONTEXT_DIGEST" "$run_dir/summary"
check "a: no ::error annotation" no_annotation "$run_dir/stdout" error ''
masks_first() { # the password and its base64 are masked before anything else is printed
  awk -v s="$secret" -v b="$secret_b64" '
    /^::add-mask::/ { if (!other) { if ($0 == "::add-mask::" s) ms = 1; if ($0 == "::add-mask::" b) mb = 1 }; next }
    { other = 1 }
    END { exit !(ms && mb) }' "$1"
}
check "a: ::add-mask:: for the password and its base64 before any other line" masks_first "$run_dir/stdout"
report=$(report_file || true)
check "a: the JSON report is in the workspace (${report#"$ws"/})" test -f "$report"
check "a: the password and its base64 appear in no output, summary, report or log" \
  no_secret_in "$run_dir/stdout" "$run_dir/stderr" "$run_dir/summary" "$run_dir/output" "$report"
dump_run_if "$before"

# --- b. a mistyped tag ---------------------------------------------------------------------
new_run b
before=$failures
cp "$CA_FILE" "$ws/demo-ca.pem"
docker_config "$ws/.docker" "$auths_config"
run_action b new with registry=myreg with "context=oci://$REGISTRY_HOST/team/ctx:v1.1" \
  with "resolve=$resolve_input" with "ca-file=$ws/demo-ca.pem" env "DOCKER_CONFIG=$ws/.docker"
describe_run
check "b: tag v1.1 (mistyped): exit 1" test "$(cat "$run_dir/status")" = 1
check "b: result=fail" test "$(output_value "$run_dir/output" result)" = fail
check "b: an ::error annotation names the tag v1.1" has_line "$run_dir/stdout" '^::error .*v1\.1'
check "b: the summary is written" test -s "$run_dir/summary"
check "b: no secret anywhere" no_secret_in "$run_dir/stdout" "$run_dir/stderr" "$run_dir/summary" "$run_dir/output"
dump_run_if "$before"

# --- c. a runner older than 2.329: DOCKER_CONFIG under ${{ runner.temp }}, not mounted -------
# The login step wrote the config on the runner, under its temp directory; the runner
# passes RUNNER_TEMP and DOCKER_CONFIG through as host paths the container cannot see.
new_run c
before=$failures
cp "$CA_FILE" "$ws/demo-ca.pem"
docker_config "$rt/docker" "$auths_config"
run_action c old with registry=myreg with "context=oci://$REGISTRY_HOST/team/ctx:v1" \
  with "resolve=$resolve_input" with "ca-file=$ws/demo-ca.pem" env "DOCKER_CONFIG=$rt/docker"
describe_run
cat "$run_dir/stdout" "$run_dir/summary" >"$run_dir/advice"
# "Recommends runner.temp": a line that puts something at ${{ runner.temp }}/…, as a fix
# would (`DOCKER_CONFIG: ${{ runner.temp }}/docker`); naming runner.temp as the cause is fine.
check "c: old runner: no advice to use \${{ runner.temp }}" \
  no_line "$run_dir/advice" '[A-Za-z_]+(:|=) *\$\{\{ *runner\.temp *\}\}'
check "c: old runner: the advice names \${{ github.workspace }} or host mode" \
  grep -Eq 'github\.workspace|host mode|/host@' "$run_dir/advice"
check "c: old runner: CONTAINER_PATH_UNMOUNTED in the report" grep -qw CONTAINER_PATH_UNMOUNTED <<<"$(report_codes)"
# The build, on the runner, may well authenticate: unverifiable is not a red job.
check "c: old runner: exit 0, result=warn (no false red)" \
  test "$(cat "$run_dir/status")/$(output_value "$run_dir/output" result)" = 0/warn
check "c: old runner: no ::error annotation" no_annotation "$run_dir/stdout" error ''
check "c: old runner: no secret anywhere" no_secret_in "$run_dir/stdout" "$run_dir/stderr" "$run_dir/summary" "$run_dir/output"
dump_run_if "$before"

# --- d. a credential helper that exists only on the runner ----------------------------------
new_run d
before=$failures
cp "$CA_FILE" "$ws/demo-ca.pem"
docker_config "$ws/.docker" "{\"credHelpers\":{\"$REGISTRY_HOST\":\"acr-env\"}}"
run_action d new with registry=myreg with "context=oci://$REGISTRY_HOST/team/ctx:v1" \
  with "resolve=$resolve_input" with "ca-file=$ws/demo-ca.pem" env "DOCKER_CONFIG=$ws/.docker"
describe_run
check "d: runner-only helper acr-env: no HELPER_NOT_FOUND error" \
  no_annotation "$run_dir/stdout" error HELPER_NOT_FOUND
check "d: runner-only helper acr-env: a ::warning that points to host mode" \
  has_line "$run_dir/stdout" '^::warning .*(host mode|/host@)'
check "d: runner-only helper acr-env: exit 0, result=warn (no false red)" \
  test "$(cat "$run_dir/status")/$(output_value "$run_dir/output" result)" = 0/warn
check "d: runner-only helper acr-env: no ::error annotation" no_annotation "$run_dir/stdout" error ''
dump_run_if "$before"

if ((failures)); then
  echo "container test: $failures check(s) failed" >&2
  exit 1
fi
echo "container test: all checks passed"
