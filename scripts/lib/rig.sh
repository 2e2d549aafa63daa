# shellcheck shell=bash
# Sourced by the scripts that need the demo's world (examples/demo_rig.rs): the real
# registry as myreg.azurecr.io over TLS with token auth, and the Entra/ARM fakes.

# start_rig BIN DIR: starts BIN with its stdin on fd 3 (closing fd 3 stops it and
# everything it started), waits until it prints READY=1, and loads the shell
# assignments it printed (REGISTRY_HOST, RESOLVE, CA_FILE, CONTEXT_DIGEST…). Sets
# rig_pid. Its output goes to DIR/rig.env and DIR/rig.log. Returns 1 when the rig exits
# or is not ready within 20 s; the caller reports DIR/rig.log and cleans up (close fd 3,
# wait for rig_pid).
start_rig() {
  local bin=$1 dir=$2 _
  mkfifo "$dir/rig.in"
  "$bin" <"$dir/rig.in" >"$dir/rig.env" 2>"$dir/rig.log" &
  rig_pid=$!
  exec 3>"$dir/rig.in"
  for _ in $(seq 1 400); do
    grep -q '^READY=1$' "$dir/rig.env" 2>/dev/null && break
    kill -0 "$rig_pid" 2>/dev/null || break
    sleep 0.05
  done
  grep -q '^READY=1$' "$dir/rig.env" || return 1
  # shellcheck disable=SC1091
  . "$dir/rig.env"
}
