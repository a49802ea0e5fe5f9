#!/usr/bin/env bash
# Installs what the pipeline tests (e2e/pipeline) need and a fresh machine
# lacks: an Alertmanager binary. Debian's prometheus-alertmanager (0.25)
# installs in seconds; upstream's module cannot be `go install`ed (its UI
# assets are not in the module). Prometheus itself is built from the tools
# module by the tests (bin/prometheus). Idempotent: does nothing when an
# alertmanager is already there.
set -euo pipefail
if [[ -n "${KJE_E2E_ALERTMANAGER:-}" && -x "${KJE_E2E_ALERTMANAGER}" ]] ||
   command -v alertmanager >/dev/null 2>&1 ||
   command -v prometheus-alertmanager >/dev/null 2>&1 ||
   [[ -x /usr/bin/prometheus-alertmanager ]]; then
  echo "install-deps: alertmanager present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: no alertmanager and no apt-get: install Alertmanager and set KJE_E2E_ALERTMANAGER" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing prometheus-alertmanager (Debian)"
# The package's service is not started: there is no systemd in CI, and the
# tests run the binary themselves on free loopback ports.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
/usr/bin/prometheus-alertmanager --version 2>&1 | head -1
