#!/usr/bin/env bash
# Installs the npm test tools into one cache directory outside the tree and prints its node_modules
# path: the independent OTLP decoder (the OpenTelemetry JS generated protobuf code) and
# playwright-core (the browser driver only: it downloads no browser; the browser test drives Debian's
# /usr/bin/chromium). Never committed; installed at test time.
set -euo pipefail

readonly PACKAGES=(
        "@opentelemetry/otlp-transformer@0.214.0"
        "playwright-core@1.65.1"
)

cache_dir() {
        echo "${OTELDEMO_CACHE:-$HOME/.cache/oteldemo}/npm"
}

installed_version() {
        local pkg_json="$1/node_modules/$2/package.json"
        [[ -f $pkg_json ]] || return 0
        node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg_json"
}

main() {
        local cache spec name missing=()
        cache="$(cache_dir)"
        mkdir -p "$cache"
        for spec in "${PACKAGES[@]}"; do
                name="${spec%@*}"
                if [[ "$(installed_version "$cache" "$name")" != "${spec##*@}" ]]; then
                        missing+=("$spec")
                fi
        done
        if ((${#missing[@]} > 0)); then
                # npm's progress goes to stderr so that stdout carries only the path.
                npm install --prefix "$cache" --no-audit --no-fund --ignore-scripts "${missing[@]}" >&2
        fi
        echo "$cache/node_modules"
}

main "$@"
