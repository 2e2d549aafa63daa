#!/usr/bin/env bash
# The whole test suite, from a fresh machine: dependencies, formatting, lints, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
# The README's demo must keep working too; it reuses the debug build above.
scripts/demo.sh >/dev/null
echo "all tests passed"
