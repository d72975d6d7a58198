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

APT_LOCK_TIMEOUT_S=${APT_LOCK_TIMEOUT_S:-600}
# One apt-get at a time among our scripts: .ci/run starts several layers (and the stack build) at
# once, and on a fresh machine each of them installs. dpkg's own lock waits (DPkg::Lock::Timeout), but
# `apt-get update` fails at once when another apt-get holds /var/lib/apt/lists/lock (apt 2.6): seen on
# the first cold CI run. tests/system/container.py takes the same lock.
APT_SERIAL_LOCK=/run/lock/oteldemo-apt.lock

# apt-get as root, noninteractive, after our other apt-gets and waiting for dpkg's lock. `update`
# is tried again when a process that is not ours (unattended-upgrades) holds the lists lock.
apt_get() { # apt-get arguments...
        local try rc=0
        for try in 1 2 3 4 5 6; do
                rc=0
                as_root flock -w "$APT_LOCK_TIMEOUT_S" "$APT_SERIAL_LOCK" env DEBIAN_FRONTEND=noninteractive \
                        apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT_S" "$@" || rc=$?
                [[ $rc -ne 0 && $1 == update && $try -lt 6 ]] || return "$rc"
                log_warn "apt-get update failed (exit $rc; another apt may hold its lock): again in 10 s"
                sleep 10
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
        apt_get update -q
        # The list names everything needed, recommends included, so recommends are not pulled.
        apt_get install -y -q --no-install-recommends "${missing[@]}"
}

# ---- test summaries -------------------------------------------------------------------------------
# Every test layer (scripts/test, scripts/test-system, …) records its steps with record_step and ends
# with print_summary, whose last line is "N passed, N failed, N skipped"; .ci/run reads that line from
# each layer (read_summary_line) and prints the sum the same way. A step that could not count its
# cases records a failure, never "0 passed, 0 failed".

summary_names=()
summary_passed=()
summary_failed=()
summary_skipped=()
summary_notes=()
summary_printed=false

record_step() { # name passed failed skipped note
        summary_names+=("$1")
        summary_passed+=("$2")
        summary_failed+=("$3")
        summary_skipped+=("$4")
        summary_notes+=("$5")
}

# A step that did not run on purpose (an option dropped it): shown, counted as nothing.
record_dropped_step() { # name reason
        record_step "$1" 0 0 0 "not run: $2"
}

# Prints the table and the last line; true when nothing failed and something passed.
print_summary() { # [title]
        local i total_passed=0 total_failed=0 total_skipped=0
        summary_printed=true
        printf '\n==== %s ====\n' "${1:-summary}"
        for i in "${!summary_names[@]}"; do
                printf '%-36s %4d passed, %4d failed, %4d skipped   %s\n' "${summary_names[$i]}" \
                        "${summary_passed[$i]}" "${summary_failed[$i]}" "${summary_skipped[$i]}" "${summary_notes[$i]}"
                total_passed=$((total_passed + summary_passed[i]))
                total_failed=$((total_failed + summary_failed[i]))
                total_skipped=$((total_skipped + summary_skipped[i]))
        done
        if [[ $total_passed -eq 0 && $total_failed -eq 0 ]]; then
                printf 'nothing ran: that is a failure\n'
        fi
        printf '%d passed, %d failed, %d skipped\n' "$total_passed" "$total_failed" "$total_skipped"
        [[ $total_failed -eq 0 && $total_passed -gt 0 ]]
}

# The EXIT trap of a test layer: removes the caller's work_dir (when set), and an unexpected exit (a
# failed install or build, a bug in the script) still ends with the summary line, counted as a failure,
# so that nobody reads a partial log as a green run.
summary_on_exit() {
        local rc=$?
        if [[ -n ${work_dir:-} ]]; then
                rm -rf "$work_dir"
        fi
        if [[ $summary_printed == false ]]; then
                record_step "$LIB_PROG itself" 0 1 0 "aborted with status $rc"
                print_summary || true
                exit 1
        fi
}

# Reads a layer's summary from its log: prints "passed failed skipped" from the last line when it is
# "N passed, N failed" or "N passed, N failed, N skipped"; fails when the last line is anything else.
read_summary_line() { # log
        local line
        line=$(tail -n 1 "$1" 2>/dev/null) || return 1
        if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
                printf '%s %s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[4]:-0}"
                return 0
        fi
        return 1
}

# Sets script_argv to the command running one of the project's scripts, executable bit or not (a
# tarball or a patch may lose it).
script_argv_for() {
        if [[ -x $1 ]]; then
                script_argv=("$1")
        else
                script_argv=(bash "$1")
        fi
}

# Sets case_counts to "passed failed skipped undeclared" from a step's report (tests/count-cases.py:
# meson's testlog.json or a JUnit XML, run from the repository's top directory); false when the report
# cannot be read. The caller's PYTHON and DECLARED_SKIPS when set, else Debian's interpreter and the
# repository's list.
case_counts=
count_cases() { # meson|junit report
        case_counts=$("${PYTHON:-/usr/bin/python3}" tests/count-cases.py "$1" "$2" \
                "${DECLARED_SKIPS:-tests/declared-skips.txt}") && [[ -n $case_counts ]]
}

# Records a step from its counts: every skip that tests/declared-skips.txt does not list is a failure,
# and so is a non-zero exit status (rc) of the runner that left no failed case behind (pytest's exit 5,
# nothing collected, a usage or internal error; meson's own errors).
record_counted_step() { # name note [rc]
        local passed failed skipped undeclared note=$2 rc=${3:-0}
        read -r passed failed skipped undeclared <<<"$case_counts"
        if [[ $rc -ne 0 && $failed -eq 0 ]]; then
                failed=1
        fi
        if [[ $undeclared -gt 0 ]]; then
                failed=$((failed + undeclared))
                note="$undeclared undeclared skip(s), counted as failed; $note"
        fi
        record_step "$1" "$passed" "$failed" "$skipped" "$note"
}

# ---- builds ---------------------------------------------------------------------------------------

# meson setup of dir with the options, or --reconfigure when dir is already a meson build.
meson_setup() { # dir meson-options...
        local dir=$1
        shift
        if [[ -d $dir/meson-private ]]; then
                meson setup --reconfigure "$dir" "$@"
        else
                meson setup "$dir" "$@"
        fi
}
