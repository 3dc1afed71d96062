# The churn image: the churn binary (cgo, linked against Debian's XGBoost
# 1.7 C library) on Debian bookworm slim, run as a non-root user. Build
# from the repository root with `make image` (or
# `docker build -t churn:dev .`); docs/scheduling.md shows it in a
# Kubernetes CronJob. beam/Dockerfile is the separate worker image of
# churn-beam.
#
#   docker run --rm -v "$PWD/data:/data:ro" -v "$PWD/out:/out" \
#       churn:dev run --config /config/churn.yaml --as-of 2024-12-01
#
# Both stages are bookworm, so the libxgboost0 the binary runs against is
# the very version whose headers (libxgboost-dev) it was compiled with.
# The runtime packages are those ldd names for the binary, mapped to
# Debian packages with dpkg -S; cmd/image_test.go checks that they stay
# in step.

# Build stage: Go matching go.mod's go line, Debian's XGBoost headers.
# Images are named in full (docker.io/library/…) so podman needs no
# short-name aliases.
FROM docker.io/library/golang:1.26.8-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxgboost-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what `churn version` prints (cmd.version); empty means "dev".
ARG VERSION=
RUN CGO_ENABLED=1 go build -trimpath \
        -ldflags "-X github.com/churnlab/churn/cmd.version=${VERSION}" \
        -o /churn ./cmd/churn \
 && /churn version

# Runtime stage: the shared libraries the binary needs, CA certificates
# (webhooks, TLS to PostgreSQL), time zones (`churn import` mappings with
# a timezone), nothing else.
FROM docker.io/library/debian:12.15-slim
ARG VERSION=
LABEL org.opencontainers.image.title="churn" \
      org.opencontainers.image.description="Nightly churn prediction: features, XGBoost training, scoring, alerts and reports as Parquet" \
      org.opencontainers.image.source="https://github.com/churnlab/churn" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:12.15-slim"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libxgboost0 libdmlc0 libgomp1 libstdc++6 libgcc-s1 ca-certificates tzdata \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid so volume permissions and Kubernetes' runAsUser/fsGroup
# can name it: 10001, no login shell, home /work.
RUN groupadd --gid 10001 churn \
 && useradd --uid 10001 --gid 10001 --no-log-init --home-dir /work --create-home --shell /usr/sbin/nologin churn
COPY --from=build /churn /usr/local/bin/churn
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["churn"]
CMD ["--help"]
