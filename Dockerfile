# syntax=docker/dockerfile:1
# kube-job-exporter image: a static binary on distroless, non-root.
#   docker build -t ghcr.io/kube-job-exporter/kube-job-exporter:dev .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ...
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
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
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kube-job-exporter /kube-job-exporter
USER 65532:65532
EXPOSE 9847
ENTRYPOINT ["/kube-job-exporter"]
