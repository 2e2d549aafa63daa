#!/usr/bin/env bash
# The cost on every CI job's critical path, measured (a benchmark, not a test: nothing
# here is asserted by scripts/test.sh). Prints one table:
#   - the real registry (`docker-registry serve`, in-memory) on 127.0.0.1:0, seeded
#     through the registry API with 50 small OCI images bench/ctx01..50:v1 (one titled
#     layer each, as `oras push` makes them);
#   - median wall time, CPU time (user+sys) and peak RSS of the release binary for
#     `--version`, and for a full anonymous check of 1, 10 and 50 contexts;
#   - `skopeo inspect --raw` of the same context (and `skopeo --version`), measured in
#     the same run, paired and alternating with ours (ours, skopeo, ours, skopeo...),
#     and the ratio; for 10 and 50 contexts the anchor is N x skopeo's one-context median;
#   - the targets of issue 14, each marked met or missed;
#   - the one-context check against the TLS token-auth registry of scripts/demo.sh.
# Usage: scripts/bench.sh [RUNS]   (default 15; the median of RUNS pairs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
for tool in docker-registry skopeo curl python3; do
  command -v "$tool" >/dev/null || { echo "bench.sh needs $tool (apt-get install docker-registry skopeo curl python3)" >&2; exit 2; }
done
cargo build --quiet --release --locked --bin acr-preflight --example demo_rig
bin=$(pwd)/target/release/acr-preflight

work=$(mktemp -d)
reg_pid=""
cleanup() {
  set +e
  exec 3>&- 2>/dev/null # stops the demo rig
  if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null; fi
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- the registry: plain HTTP on loopback, port chosen by the kernel -----------------------
cat >"$work/registry.yml" <<'EOF'
{"version": "0.1",
 "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": true}},
 "storage": {"inmemory": {}, "maintenance": {"uploadpurging": {"enabled": false}}},
 "http": {"addr": "127.0.0.1:0", "secret": "acr-preflight-bench-not-a-secret"}}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
registry=""
for _ in $(seq 1 200); do
  registry=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$work/registry.log" | head -n1 | cut -d' ' -f3) || true
  [ -n "$registry" ] && break
  kill -0 "$reg_pid" 2>/dev/null || break
  sleep 0.05
done
[ -n "$registry" ] || { echo "the registry did not start" >&2; cat "$work/registry.log" >&2; exit 1; }

# --- 50 small OCI images, pushed through the registry API --------------------------------
upload() { # repository file -> digest (monolithic upload: POST, then PUT with the digest)
  local repo=$1 file=$2 digest location
  digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
  location=$(curl -fsS -o /dev/null -D - -X POST "http://$registry/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case $location in http*) ;; *) location="http://$registry$location" ;; esac
  case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -fsS -o /dev/null -X PUT -H 'content-type: application/octet-stream' --data-binary "@$file" "$location"
  echo "$digest"
}
mkdir -p "$work/seed"
for i in $(seq -w 1 50); do
  d="$work/seed/$i"
  mkdir -p "$d/ctx"
  printf 'FROM scratch\nLABEL context=%s\n' "$i" >"$d/ctx/Dockerfile"
  tar -C "$d/ctx" --mtime=@0 --owner=0 --group=0 -cf - Dockerfile | gzip -n >"$d/layer"
  printf '{}' >"$d/config"
  config_digest=$(upload "bench/ctx$i" "$d/config")
  layer_digest=$(upload "bench/ctx$i" "$d/layer")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.unknown.artifact.v1","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.title":"Dockerfile"}}]}' \
    "$config_digest" "$layer_digest" "$(stat -c %s "$d/layer")" >"$d/manifest"
  curl -fsS -o /dev/null -X PUT -H 'content-type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$d/manifest" "http://$registry/v2/bench/ctx$i/manifests/v1"
done
mkdir -p "$work/docker"
printf '{"auths":{}}\n' >"$work/docker/config.json"

# --- the demo rig (TLS, token auth) for the last row --------------------------------------
# shellcheck source=scripts/lib/rig.sh
. scripts/lib/rig.sh
start_rig target/release/examples/demo_rig "$work" ||
  { echo "the registry rig did not start" >&2; cat "$work/rig.log"; exit 1; }
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_HOST" "$(printf 'ci-bot:demo-password-not-real' | base64)" >"$work/rig-config.json"
mkdir -p "$work/rig-docker" && mv "$work/rig-config.json" "$work/rig-docker/config.json"

# --- measure: paired, alternating, median of $runs -----------------------------------------
BIN="$bin" REGISTRY="$registry" REGISTRY_PID="$reg_pid" DOCKER_DIR="$work/docker" RUNS="$runs" \
  RIG_HOST="$REGISTRY_HOST" RIG_RESOLVE="$RESOLVE" RIG_CA="$CA_FILE" RIG_DOCKER="$work/rig-docker" \
  python3 - <<'EOF'
import os, statistics, subprocess, tempfile, time

BIN, REG, RUNS = os.environ["BIN"], os.environ["REGISTRY"], int(os.environ["RUNS"])
common = ["--docker-config", os.environ["DOCKER_DIR"], "--auth-mode", "anonymous", "--format", "text"]

def ctx(n):
    return [a for i in range(1, n + 1) for a in ("--context", f"oci://{REG}/bench/ctx{i:02d}:v1")]

def run(argv):
    """One run: wall ms, CPU ms (user+sys), exit status."""
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    return wall, (ru.ru_utime + ru.ru_stime) * 1000, os.waitstatus_to_exitcode(status)

def peak_rss(argv):
    """Peak RSS in MiB, median of 3, through /usr/bin/time: a child forked from this
    Python would carry Python's own high-water mark in ru_maxrss across exec."""
    values = []
    with tempfile.NamedTemporaryFile() as out:
        for _ in range(3):
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            values.append(int(open(out.name).read().split()[-1]) / 1024)
    return statistics.median(values)

def paired(a, b):
    """Alternating runs of a and b (one warm-up each); medians of each column."""
    run(a)
    if b:
        run(b)
    ra, rb = [], []
    for _ in range(RUNS):
        ra.append(run(a))
        if b:
            rb.append(run(b))
    med = lambda rs, argv: (*(statistics.median(r[i] for r in rs) for i in range(2)), peak_rss(argv))
    bad = [r[2] for r in ra if r[2] != 0]
    if bad:
        raise SystemExit(f"{a[:3]}... exited {bad[0]}")
    return med(ra, a), (med(rb, b) if b else None)

skopeo_one = ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{REG}/bench/ctx01:v1"]
rows = []
v, sv = paired([BIN, "--version"], ["skopeo", "--version"])
rows.append(("`--version`", v, sv, "`skopeo --version`", sv[0]))
one, sone = paired([BIN, *common, *ctx(1)], skopeo_one)
rows.append(("1 context", one, sone, "`skopeo inspect --raw`, same context", sone[0]))
for n in (10, 50):
    m, _ = paired([BIN, *common, *ctx(n)], None)
    rows.append((f"{n} contexts", m, None, f"{n} x skopeo's one-context median", n * sone[0]))
rig = [BIN, "--registry", "myreg", "--context", f"oci://{os.environ['RIG_HOST']}/team/ctx:v1",
       "--docker-config", os.environ["RIG_DOCKER"], "--ca-file", os.environ["RIG_CA"], "--format", "text"]
for spec in os.environ["RIG_RESOLVE"].split():
    rig += ["--resolve", spec]
t, _ = paired(rig, None)

print(f"median of {RUNS} paired, alternating runs; registry {REG} (docker-registry, in-memory, 50 OCI images)\n")
print("| work | acr-preflight wall | CPU | peak RSS | anchor | anchor wall | CPU | peak RSS | ratio (wall) |")
print("|---|---|---|---|---|---|---|---|---|")
for name, m, s, anchor, anchor_wall in rows:
    sc = f"{s[1]:.1f} ms | {s[2]:.1f} MiB" if s else "- | -"
    print(f"| {name} | {m[0]:.1f} ms | {m[1]:.1f} ms | {m[2]:.1f} MiB | {anchor} | {anchor_wall:.1f} ms | {sc} | {m[0] / anchor_wall:.2f}x |")
print(f"| 1 context, TLS + token auth (demo rig: ping, token, manifest GET) | {t[0]:.1f} ms | {t[1]:.1f} ms | {t[2]:.1f} MiB | | | | | |")

def registry_cpu(argv, n=5):
    """CPU ms the registry process spends serving one run (mean of n)."""
    stat = lambda: sum(int(x) for x in open(f"/proc/{os.environ['REGISTRY_PID']}/stat").read().rsplit(")", 1)[1].split()[11:13])
    before = stat()
    for _ in range(n):
        run(argv)
    return (stat() - before) * 1000 / os.sysconf("SC_CLK_TCK") / n
print(f"\nregistry CPU per run (docker-registry, mean of 5): 1 context {registry_cpu([BIN, *common, *ctx(1)]):.0f} ms, "
      f"50 contexts {registry_cpu([BIN, *common, *ctx(50)]):.0f} ms")

fifty = rows[3][1][0] / one[0]
rss = max(r[1][2] for r in rows + [(None, t)])
checks = [
    (f"one context <= 1.2x skopeo inspect: {one[0] / sone[0]:.2f}x", one[0] <= 1.2 * sone[0]),
    (f"50 contexts < 2x one context: {fifty:.2f}x", fifty < 2),
    (f"--version <= 3 ms: {v[0]:.1f} ms", v[0] <= 3),
    (f"peak RSS <= 15 MiB: {rss:.1f} MiB", rss <= 15),
]
print()
for text, ok in checks:
    print(f"{'met   ' if ok else 'MISSED'} {text}")
EOF
echo
echo "binary: $(stat -c %s "$bin") bytes; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(uname -sr)"
