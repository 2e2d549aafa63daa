# The action's image: a static binary and a CA bundle, nothing else.
# Build stage: musl target, so the result runs on `scratch`. aws-lc-sys (rustls' crypto)
# needs a musl C compiler (musl-tools) for that target.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY docs ./docs
ENV CC_x86_64_unknown_linux_musl=musl-gcc
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/acr-preflight /acr-preflight

FROM scratch
# rustls loads the system roots at start; without a bundle every TLS call would fail.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /acr-preflight /acr-preflight
# No USER: container actions must run as root to read the workspace (GitHub docs).
ENTRYPOINT ["/acr-preflight"]
