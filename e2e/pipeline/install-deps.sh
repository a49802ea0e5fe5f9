#!/usr/bin/env bash
# Installs what the e2e tests need and a fresh machine lacks, from Debian
# packages, each only if absent (idempotent):
# - an Alertmanager binary, for the pipeline tests (e2e/pipeline). Debian's
#   prometheus-alertmanager (0.25) installs in seconds; upstream's module
#   cannot be `go install`ed (its UI assets are not in the module).
#   Prometheus itself is built from the tools module by the tests
#   (bin/prometheus).
# - Chromium, for the browser tests (e2e/browser), which open the
#   exporter's pages headless. Debian's chromium package; the tests find it
#   at /usr/bin/chromium or $KJE_E2E_CHROMIUM.
set -euo pipefail

need=()
if [[ -n "${KJE_E2E_ALERTMANAGER:-}" && -x "${KJE_E2E_ALERTMANAGER}" ]] ||
   command -v alertmanager >/dev/null 2>&1 ||
   command -v prometheus-alertmanager >/dev/null 2>&1 ||
   [[ -x /usr/bin/prometheus-alertmanager ]]; then
  echo "install-deps: alertmanager present"
else
  need+=(prometheus-alertmanager)
fi
if [[ -n "${KJE_E2E_CHROMIUM:-}" && -x "${KJE_E2E_CHROMIUM}" ]] ||
   [[ -x /usr/bin/chromium ]]; then
  echo "install-deps: chromium present"
else
  need+=(chromium)
fi
if [[ ${#need[@]} -eq 0 ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${need[*]} and no apt-get: install them and set KJE_E2E_ALERTMANAGER / KJE_E2E_CHROMIUM" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${need[*]} (Debian)"
start=$(date +%s)
# The Alertmanager package's service is not started: there is no systemd
# in CI, and the tests run the binary themselves on free loopback ports.
# Chromium comes without recommends (no fonts beyond its dependencies'
# fonts-liberation, no extensions): the tests run it headless.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-deps: installed in $(( $(date +%s) - start ))s"
if [[ " ${need[*]} " == *" prometheus-alertmanager "* ]]; then
  /usr/bin/prometheus-alertmanager --version 2>&1 | head -1
fi
if [[ " ${need[*]} " == *" chromium "* ]]; then
  # (its launcher script may warn on stderr about the machine; the version is on stdout)
  /usr/bin/chromium --version 2>/dev/null | head -1
fi
