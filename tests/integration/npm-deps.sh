#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the npm test tools exactly as tests/package-lock.json pins them (`npm ci`: the lock's
# versions and integrity hashes, nothing resolved anew) into a cache directory outside the tree, keyed
# by the lock file's hash, and prints its node_modules path: the independent OTLP decoder (the
# OpenTelemetry JS generated protobuf code) and playwright-core (the browser driver only: it downloads
# no browser; the browser test drives Debian's /usr/bin/chromium). Why these versions (Debian 12's
# Node.js 18): see the "//" note in tests/package.json. Never committed; installed at test time.
set -euo pipefail

# Any Node.js older than this cannot run the locked tools (the OpenTelemetry packages' engines field).
readonly NODE_MIN_MAJOR=18
readonly NODE_MIN_MINOR=19

tests_dir() {
        (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

cache_dir() { # lock-file
        local key
        key=$(sha256sum "$1" | cut -c1-16)
        echo "${OTELDEMO_CACHE:-$HOME/.cache/oteldemo}/npm/lock-$key"
}

check_node() {
        local version major minor
        version=$(node --version)
        IFS=. read -r major minor _ <<<"${version#v}"
        if ((major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))); then
                echo "npm-deps.sh: Node.js $version is too old: need $NODE_MIN_MAJOR.$NODE_MIN_MINOR or newer" >&2
                return 1
        fi
        echo "npm-deps.sh: Node.js $version, npm $(npm --version)" >&2
}

# True when the cache holds exactly what the lock names (npm ci writes its own copy of the lock into
# node_modules/.package-lock.json; a partial install from an interrupted run has none).
installed() { # cache
        [[ -f $1/node_modules/.package-lock.json && -f $1/.installed ]]
}

main() {
        local dir lock cache
        dir=$(tests_dir)
        lock=$dir/package-lock.json
        cache=$(cache_dir "$lock")
        check_node
        if ! installed "$cache"; then
                rm -rf "$cache"
                mkdir -p "$cache"
                cp "$dir/package.json" "$lock" "$cache/"
                # npm's progress goes to stderr so that stdout carries only the path.
                (cd "$cache" && npm ci --no-audit --no-fund --ignore-scripts >&2)
                touch "$cache/.installed"
        fi
        echo "$cache/node_modules"
}

main "$@"
