#!/usr/bin/env bash
# Installs the independent OTLP decoder (the OpenTelemetry JS generated protobuf code) into a cache
# directory outside the tree and prints its node_modules path. Never committed; installed at test time.
set -euo pipefail

readonly PKG_NAME="@opentelemetry/otlp-transformer"
readonly PKG_VERSION="0.214.0"

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
