#!/usr/bin/env bash
# The whole test suite, from a fresh machine: dependencies, formatting, lints, tests,
# the README's demo, and the action's image built and run the way the Actions runner
# runs a container action.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo fmt --all -- --check
scripts/lint.sh # actionlint (workflows), hadolint (Dockerfile), shellcheck (scripts)
cargo clippy --all-targets --locked -- -D warnings
# The Windows release target must compile too (Unix-only APIs behind #[cfg(unix)]).
scripts/windows-check.sh
cargo test --all-targets --locked
# The README's demo must keep working too; it reuses the debug build above.
scripts/demo.sh >/dev/null
# The static musl release binary in the FROM scratch image (<= 15 MB), run with the
# runner's mounts and environment against the demo's registry.
scripts/container-test.sh
# A short bounded fuzzing run of every cargo-fuzz target (8 s each); longer runs:
# scripts/fuzz.sh 300. The seed corpus is also replayed on stable by cargo test above.
scripts/fuzz.sh 8
echo "all tests passed"
