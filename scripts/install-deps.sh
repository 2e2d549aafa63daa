#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine: the real
# distribution registry, the real docker credential helpers with pass and gnupg, the
# static (musl) toolchain, buildah, podman and runc for the action's image test, and
# the Rust components the checks run. Idempotent: installed pieces are skipped.
set -euo pipefail

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v docker-credential-pass >/dev/null || need+=(golang-docker-credential-helpers)
command -v pass >/dev/null || need+=(pass)
# tests/it/docker_side.rs: the real secretservice helper against a private session bus,
# which D-Bus-activates gnome-keyring's Secret Service.
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v gpg >/dev/null || need+=(gnupg)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
# scripts/container-test.sh: a static binary, the image's CA bundle, build and run.
command -v musl-gcc >/dev/null || need+=(musl-tools)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
command -v buildah >/dev/null || need+=(buildah)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || need+=(runc)
command -v jq >/dev/null || need+=(jq)
command -v readelf >/dev/null || need+=(binutils)
command -v file >/dev/null || need+=(file)

if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if command -v rustup >/dev/null; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed" || rustup component add "$c"
  done
  targets=$(rustup target list --installed 2>/dev/null || true)
  grep -qx x86_64-unknown-linux-musl <<<"$targets" || rustup target add x86_64-unknown-linux-musl
fi
