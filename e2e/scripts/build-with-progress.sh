#!/usr/bin/env bash
# Usage: build-with-progress.sh OUTPUT PACKAGE [GO BUILD FLAGS...]
# (run in the module's directory)
# go build with a progress line every few seconds instead of minutes of
# silence: the first build compiles k8s.io/kubernetes (thousands of packages).
set -euo pipefail
out=$1 pkg=$2
shift 2
go=${GO:-go}
total=$({ $go list -deps "$pkg" 2>/dev/null || true; } | wc -l)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
echo ">> building $pkg (up to $total packages; a first build takes several minutes, later ones seconds)"
n=0 last=$SECONDS
# go build -v names each package as it compiles it (cached ones are not named).
if ! $go build -v "$@" -o "$out" "$pkg" 2> >(tee "$log" | while IFS= read -r line; do
		n=$((n + 1))
		if (( SECONDS - last >= 5 )); then
			last=$SECONDS
			printf '   ... %4ds  %d/%s compiled, now %s\n' $((SECONDS - start)) "$n" "$total" "$line"
		fi
	done); then
	# Show the compiler's errors (lines that are not bare package paths).
	grep -vE '^[[:alnum:]_./~-]+$' "$log" >&2 || true
	echo ">> build of $pkg failed" >&2
	exit 1
fi
wait
echo ">> built $out in $((SECONDS - start))s"
