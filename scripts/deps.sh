#!/usr/bin/env bash
# scripts/deps.sh — install what the test suite needs, only where missing.
#
# Idempotent and non-interactive (CI has no stdin). Run by `make test`; safe to
# run by hand at any time. Installs:
#   - Debian packages: chromium, coturn, redis-server (and nodejs/npm if there
#     is no node at all). `apt-get update` runs first only when something is
#     missing. Needs root (or password-less sudo).
#   - staticcheck, pinned below, with `go install` into $(go env GOPATH)/bin.
#   - the npm packages of test/node with `npm ci`, when node_modules is
#     missing or was installed from a different package-lock.json.
# Nothing here downloads a browser: Chromium comes from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=2026.2.2          # reported by `staticcheck -version`
STATICCHECK_MODULE_VERSION=v0.8.2     # the module version of that release
DEBIAN_PACKAGES=(chromium coturn redis-server)

log() { printf 'deps: %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		log "need root to run: $*"
		return 1
	fi
}

# --- Debian packages ------------------------------------------------------
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if ! command -v node >/dev/null 2>&1; then
	missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
	missing+=(npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q
	as_root apt-get install -y -q "${missing[@]}" </dev/null
else
	log "Debian packages present: ${DEBIAN_PACKAGES[*]}"
fi

# --- staticcheck ----------------------------------------------------------
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
staticcheck="$gobin/staticcheck"
if [ -x "$staticcheck" ] && "$staticcheck" -version 2>/dev/null | grep -q "staticcheck $STATICCHECK_VERSION "; then
	log "staticcheck $STATICCHECK_VERSION present"
else
	log "installing staticcheck $STATICCHECK_VERSION ($STATICCHECK_MODULE_VERSION)"
	# Outside the module, so go.mod/go.sum are not touched.
	(cd / && GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_MODULE_VERSION")
fi

# --- npm packages for the interop tests -------------------------------------
# npm ci replaces node_modules wholesale; the stamp records which lockfile it
# was installed from, so a changed lockfile (or an interrupted install, which
# leaves no stamp) triggers a fresh `npm ci`.
nodedir=test/node
stamp="$nodedir/node_modules/.switchboard-lock-sha256"
want="$(sha256sum "$nodedir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	log "test/node/node_modules up to date"
else
	log "npm ci in test/node"
	(cd "$nodedir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error </dev/null)
	printf '%s\n' "$want" >"$stamp"
fi
