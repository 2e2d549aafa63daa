#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60), starting from the
# seed corpus in fuzz/corpus/<target>/. The seed corpus is copied, so the repository is
# not changed; a crash leaves its input in fuzz/artifacts/<target>/ and fails the run
# (keep the input as a regression test: a unit test in the module, and a file in
# fuzz/corpus/<target>/ that tests/it/fuzz_corpus.rs replays on stable).
#
#   scripts/fuzz.sh            # 60 s per target, 9 targets
#   scripts/fuzz.sh 8          # the short run scripts/test.sh can call (8 s per target)
#   FUZZ_TARGETS="jwt reference" scripts/fuzz.sh 300
#   FUZZ_KEEP_CORPUS=1 scripts/fuzz.sh 600   # merge new coverage into fuzz/corpus/
#
# cargo-fuzz needs a nightly compiler: the nightly toolchain when rustup has one, else
# the stable one with RUSTC_BOOTSTRAP=1. cargo-fuzz itself is installed from crates.io
# when missing. Sanitizers are off (-s none): the targets are safe Rust, and libFuzzer's
# coverage guidance and panics are what is wanted; this also needs no sanitizer runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;; esac
targets="${FUZZ_TARGETS:-reference www_authenticate docker_config jwt workflow_yaml workflow_expr shell_words gha_escape dockerfile git_refs}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo_fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    cargo_fuzz=(cargo fuzz)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One build for every target (the dependencies are shared).
"${cargo_fuzz[@]}" build -s none --fuzz-dir fuzz

failed=()
for target in $targets; do
    mkdir -p "$work/$target" "fuzz/artifacts/$target"
    cp -R "fuzz/corpus/$target/." "$work/$target/"
    echo "== $target: ${seconds}s"
    if ! "${cargo_fuzz[@]}" run -s none --fuzz-dir fuzz "$target" "$work/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 2>"$work/$target.log"; then
        tail -n 40 "$work/$target.log" >&2
        failed+=("$target")
        continue
    fi
    grep -E '^(Done|stat::number_of_executed_units)' "$work/$target.log" || true
    if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
        "${cargo_fuzz[@]}" run -s none --fuzz-dir fuzz "$target" -- -merge=1 \
            "fuzz/corpus/$target" "$work/$target" 2>/dev/null
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing: no crash in $(echo "$targets" | wc -w) targets, ${seconds}s each"
