# syntax=docker/dockerfile:1
# kube-job-exporter image: a static binary on distroless, non-root.
#   docker build -t ghcr.io/kube-job-exporter/kube-job-exporter:dev .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ...
#
# Both base images are pinned by digest (the multi-platform index), so a
# build uses exactly the toolchain and runtime files that were reviewed,
# whatever the tags point at today; the tag beside each digest says what it
# tracks and is otherwise ignored. The digests were not read from the
# registries (no access when they were set, 2026-11-28) but from public
# dependency-bot updates: golang:1.26 (Go 1.26.8) as of 2026-09-18,
# static-debian12:nonroot as of 2026-08-29. Verify and refresh them before
# a release, and whenever Go or Debian publish security fixes:
#   crane digest golang:1.26
#   crane digest gcr.io/distroless/static-debian12:nonroot
# or: docker buildx imagetools inspect golang:1.26 (the "Digest:" line).
# Then replace the digest after "@" below (and the date above); to move to
# another Go minor, change the tag and the digest together.
FROM --platform=$BUILDPLATFORM golang:1.26@sha256:3c3e25a4da13fd0478eed2df1eb35a0e667094a7124d3993a6a1d30f71c17e79 AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=main" \
      -o /out/kube-job-exporter ./cmd/kube-job-exporter

# static: no libc, no shell, CA certificates and /etc/passwd with nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/kube-job-exporter /kube-job-exporter
USER 65532:65532
EXPOSE 9847
ENTRYPOINT ["/kube-job-exporter"]
