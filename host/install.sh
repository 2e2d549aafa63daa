#!/usr/bin/env bash
# Installs the released acr-preflight binary for this runner into the tool cache and
# writes its path to $GITHUB_OUTPUT (`path=`). Used by host/action.yml; runs under bash
# on Linux, macOS and Windows (Git Bash) runners.
#
# Environment:
#   RUNNER_OS, RUNNER_ARCH    set by the runner: Linux|macOS|Windows, X64|ARM64
#   RUNNER_TOOL_CACHE         set by the runner: the tool cache root
#   RUNNER_TEMP               set by the runner: scratch space (falls back to TMPDIR, /tmp)
#   ACR_PREFLIGHT_VERSION     release tag to install, or `latest` (the default)
#   ACTION_REPOSITORY         owner/name the releases come from (github.action_repository);
#                             when empty, read from GITHUB_ACTION_PATH, else acr-preflight/acr-preflight
#   ACR_PREFLIGHT_RELEASE_BASE_URL
#                             replaces `${GITHUB_SERVER_URL}/${ACTION_REPOSITORY}/releases`:
#                             assets are fetched from <base>/download/<version>/<asset>
#                             (<base>/latest/download/<asset> for `latest`). A mirror, or a
#                             local test server: plain http is accepted only with this set.
#
# Nothing lands in the tool cache before its SHA-256 matches the release's SHA256SUMS.
set -euo pipefail

tool=acr-preflight

die() {
  echo "::error title=acr-preflight install::$*" >&2
  exit 1
}

: "${RUNNER_OS:?RUNNER_OS is not set (Linux, macOS or Windows); the GitHub runner sets it}"
: "${RUNNER_ARCH:?RUNNER_ARCH is not set (X64 or ARM64); the GitHub runner sets it}"
: "${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set; the GitHub runner sets it}"
version=${ACR_PREFLIGHT_VERSION:-latest}

case "$RUNNER_OS/$RUNNER_ARCH" in
  Linux/X64) asset=$tool-x86_64-unknown-linux-musl ;;
  Linux/ARM64) asset=$tool-aarch64-unknown-linux-musl ;;
  macOS/X64) asset=$tool-x86_64-apple-darwin ;;
  macOS/ARM64) asset=$tool-aarch64-apple-darwin ;;
  Windows/X64) asset=$tool-x86_64-pc-windows-msvc.exe ;;
  *) die "no acr-preflight release binary for RUNNER_OS=$RUNNER_OS RUNNER_ARCH=$RUNNER_ARCH; released: Linux X64, Linux ARM64, macOS X64, macOS ARM64, Windows X64. Use the container action (acr-preflight/acr-preflight@v0) on Linux, or build from source with cargo" ;;
esac
case "$RUNNER_ARCH" in
  X64) arch=x64 ;;
  ARM64) arch=arm64 ;;
esac
exe=$tool
if [ "$RUNNER_OS" = Windows ]; then
  exe=$tool.exe
fi

# A tag becomes a directory name: refuse anything that could leave the cache.
valid_version() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]
}
valid_version "$version" || die "invalid version '$version': give a release tag such as v0.1.0, or latest"

to_unix_path() {
  if [ "$RUNNER_OS" = Windows ] && command -v cygpath >/dev/null 2>&1; then
    cygpath -u "$1"
  else
    printf '%s\n' "$1"
  fi
}
cache_root=$(to_unix_path "$RUNNER_TOOL_CACHE")/$tool
temp_root=$(to_unix_path "${RUNNER_TEMP:-${TMPDIR:-/tmp}}")

# Where releases come from.
curl_proto='=https'
if [ -n "${ACR_PREFLIGHT_RELEASE_BASE_URL:-}" ]; then
  base=${ACR_PREFLIGHT_RELEASE_BASE_URL%/}
  curl_proto='=https,http'
else
  repo=${ACTION_REPOSITORY:-}
  if [ -z "$repo" ]; then
    # github.action_repository is often empty inside composite actions
    # (actions/runner#2525); the action's checkout path is _actions/<owner>/<repo>/<ref>/host.
    action_path=${GITHUB_ACTION_PATH:-}
    action_path=${action_path//\\//}
    if [[ "$action_path" =~ /_actions/([^/]+)/([^/]+)/[^/]+/host/?$ ]]; then
      repo=${BASH_REMATCH[1]}/${BASH_REMATCH[2]}
    else
      repo=acr-preflight/acr-preflight
    fi
  fi
  base=${GITHUB_SERVER_URL:-https://github.com}/$repo/releases
fi

fetch() { # URL FILE
  curl --fail --silent --show-error --location --retry 3 \
    --proto "$curl_proto" --proto-redir "$curl_proto" \
    --connect-timeout 20 --max-time 300 \
    --output "$2" "$1"
}

# `latest`: ask which tag it redirects to (GitHub answers <base>/latest/download/X with a
# redirect to <base>/download/<tag>/X), so the cache holds a real version and a newer
# release is picked up. Without a tag to go by, `latest` is installed outside the cache.
if [ "$version" = latest ]; then
  redirect=$(curl --silent --show-error --retry 3 \
    --proto "$curl_proto" --connect-timeout 20 --max-time 60 \
    --output /dev/null --write-out '%{redirect_url}' \
    "$base/latest/download/SHA256SUMS" 2>/dev/null || true)
  tag=
  if [[ "$redirect" =~ /download/([^/?#]+)/SHA256SUMS([?#].*)?$ ]]; then
    tag=${BASH_REMATCH[1]}
  fi
  if [ -n "$tag" ] && valid_version "$tag"; then
    version=$tag
    echo "latest acr-preflight release: $version"
  fi
fi

if [ "$version" = latest ]; then
  url_dir=$base/latest/download
  dest_dir=$temp_root/$tool-latest-$$/$arch
  marker=
else
  url_dir=$base/download/$version
  dest_dir=$cache_root/$version/$arch
  marker=$cache_root/$version/$arch.complete
fi
bin=$dest_dir/$exe

report() {
  local out=$1
  if [ "$RUNNER_OS" = Windows ] && command -v cygpath >/dev/null 2>&1; then
    out=$(cygpath -m "$out")
  fi
  echo "$2: $out"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'path=%s\n' "$out" >>"$GITHUB_OUTPUT"
  fi
}

if [ -n "$marker" ] && [ -f "$marker" ] && [ -f "$bin" ]; then
  report "$bin" "acr-preflight $version ($RUNNER_OS $arch) from the tool cache"
  exit 0
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    die "neither sha256sum nor shasum is installed: cannot verify the download"
  fi
}

mkdir -p "$temp_root"
work=$(mktemp -d "$temp_root/$tool-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "downloading $url_dir/$asset"
fetch "$url_dir/SHA256SUMS" "$work/SHA256SUMS" ||
  die "cannot download $url_dir/SHA256SUMS: is '$version' an acr-preflight release? (input version)"
fetch "$url_dir/$asset" "$work/$asset" ||
  die "cannot download $url_dir/$asset: is '$version' an acr-preflight release with a $RUNNER_OS $RUNNER_ARCH binary? (input version)"

# sha256sum lines: <64 hex><space><space or *><name>
expected=$(awk -v name="$asset" '
  { file = substr($0, 65); sub(/^ +\*?/, "", file); sub(/\r$/, "", file) }
  length($1) == 64 && file == name { print tolower($1); exit }
' "$work/SHA256SUMS")
actual=$(sha256_of "$work/$asset" | tr 'A-F' 'a-f')
[ -n "$expected" ] ||
  die "checksum refused for $asset: $url_dir/SHA256SUMS has no line for it, so there is no expected digest (actual $actual); nothing was installed"
[ "$expected" = "$actual" ] ||
  die "checksum mismatch for $asset: expected $expected (SHA256SUMS), actual $actual (downloaded from $url_dir/$asset); nothing was installed"
chmod +x "$work/$asset"

# Into place: a partial copy in the destination directory, renamed over the final name
# (same directory, so atomic); the marker last, only once the binary is complete.
if [ -n "$marker" ]; then
  rm -f "$marker"
fi
mkdir -p "$dest_dir"
partial=$(mktemp "$dest_dir/.$exe.partial.XXXXXX")
if ! { cp "$work/$asset" "$partial" && chmod +x "$partial" && mv -f "$partial" "$bin"; }; then
  rm -f "$partial"
  die "cannot install $bin"
fi
if [ -n "$marker" ]; then
  : >"$marker"
  report "$bin" "acr-preflight $version ($RUNNER_OS $arch) installed in the tool cache"
else
  report "$bin" "acr-preflight latest ($RUNNER_OS $arch, tag unknown, not cached) installed"
fi
