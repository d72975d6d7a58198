# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shell functions shared by the entry points in scripts/ and tests/: logging, running as root,
# installing missing Debian packages. Sourced, never executed; callers set -euo pipefail themselves.

# The name callers log under: the script that sourced us.
LIB_PROG=${LIB_PROG:-$(basename "$0")}

log_info() {
        printf '%s: %s\n' "$LIB_PROG" "$*" >&2
}

log_warn() {
        printf '%s: warning: %s\n' "$LIB_PROG" "$*" >&2
}

log_error() {
        printf '%s: error: %s\n' "$LIB_PROG" "$*" >&2
}

die() {
        log_error "$*"
        exit 1
}

# A visible banner between the long outputs of the test steps.
log_section() {
        printf '\n==== %s ====\n' "$*" >&2
}

have_command() {
        command -v "$1" >/dev/null 2>&1
}

# Absolute path of the repository's top directory (the parent of scripts/).
repo_root() {
        local here
        here=$(dirname "${BASH_SOURCE[0]}")
        (cd "$here/.." && pwd)
}

# Runs a command as root: directly when we are root (CI), through sudo otherwise.
as_root() {
        if [[ $EUID -eq 0 ]]; then
                "$@"
        elif have_command sudo; then
                sudo "$@"
        else
                die "need root for '$*': run as root or install sudo"
        fi
}

# True when the Debian package is installed (not merely known or half-configured).
deb_installed() {
        local status
        status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
        [[ $status == installed ]]
}

# Prints, one per line, the packages among the arguments that are not installed.
deb_missing() {
        local pkg
        for pkg in "$@"; do
                deb_installed "$pkg" || printf '%s\n' "$pkg"
        done
}

# Installs those of the given Debian packages that are missing. apt-get update runs only when
# something must be installed: on a machine that has everything this touches nothing.
deb_install_missing() {
        local -a missing
        mapfile -t missing < <(deb_missing "$@")
        if [[ ${#missing[@]} -eq 0 ]]; then
                return 0
        fi
        have_command apt-get || die "missing packages (${missing[*]}) and no apt-get: not a Debian system?"
        log_info "installing missing packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        # The list names everything needed, recommends included, so recommends are not pulled.
        as_root env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q --no-install-recommends "${missing[@]}"
}
