#!/usr/bin/env bash
# Installs playwright-core (the browser driver only: it downloads no browser; the tests drive Debian's
# /usr/bin/chromium) into the same cache as the OTLP decoder and prints that node_modules path.
# Never committed; installed at test time.
set -euo pipefail

readonly PKG_NAME="playwright-core"
readonly PKG_VERSION="1.65.1"

cache_dir() {
        echo "${OTELDEMO_CACHE:-$HOME/.cache/oteldemo}/npm"
}

installed_version() {
        local pkg_json="$1/node_modules/$PKG_NAME/package.json"
        [[ -f $pkg_json ]] || return 0
        node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg_json"
}

main() {
        local cache
        cache="$(cache_dir)"
        mkdir -p "$cache"
        if [[ "$(installed_version "$cache")" != "$PKG_VERSION" ]]; then
                # npm's progress goes to stderr so that stdout carries only the path.
                npm install --prefix "$cache" --no-audit --no-fund --ignore-scripts \
                        "$PKG_NAME@$PKG_VERSION" >&2
        fi
        echo "$cache/node_modules"
}

main "$@"
