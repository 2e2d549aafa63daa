# The action's image: one static binary and a CA bundle on `scratch`, nothing else.
#
# This file compiles nothing. The binaries are built first (release.yml builds one per
# architecture on its own runner; scripts/image-test.sh builds the local one) and passed
# in the build context:
#   dist/ca-certificates.crt           the CA bundle rustls reads (SSL_CERT_FILE default)
#   dist/linux-amd64/acr-preflight     x86_64-unknown-linux-musl
#   dist/linux-arm64/acr-preflight     aarch64-unknown-linux-musl
# so that `docker buildx build --platform linux/amd64,linux/arm64` (or
# `buildah bud --platform`) picks the right one through TARGETARCH.
FROM scratch
ARG TARGETARCH
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/linux-${TARGETARCH}/acr-preflight /acr-preflight
# No USER: a container action runs as root so that it can read the mounted workspace and
# write the runner's file commands (docs: "Dockerfile support for GitHub Actions").
ENTRYPOINT ["/acr-preflight"]
