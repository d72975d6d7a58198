#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The source checker CI runs (scripts/test): bans C library calls that cannot be used safely (no
# bound, no error report, hidden global state), refuses strtol-family calls without an end pointer and
# allocations whose result is not tested, refuses module cycles in the daemons and the CLI, allows one
# warn_unused_result macro (OTEL_WUR), checks the layout against .clang-format and runs cppcheck.
# Exit 0 when clean, 1 otherwise, with one line per finding naming file, line and what to use instead.
set -euo pipefail

LIB_PROG=tests/check-source.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# Where the project's own C lives (daemon folders join as they arrive).
readonly CHECKED_DIRS=(src tests/programs)
# Folders whose modules must not depend on each other in a circle (tests/check_source.py cycles).
readonly ACYCLIC_DIRS=(src/backend src/frontend src/cli)
# The rules that need a parser rather than a grep; Debian's interpreter (stdlib only).
readonly SOURCE_RULES=(/usr/bin/python3 tests/check_source.py)
# The project's one warn_unused_result macro, and the only file that may spell the attribute out.
readonly WUR_HEADER=src/otel/otel.h

# banned call → why, and what to use instead.
declare -rA BANNED_CALLS=(
        [sprintf]="no bound: use snprintf"
        [vsprintf]="no bound: use vsnprintf"
        [strcpy]="no bound: use memcpy with a known length, or snprintf"
        [strcat]="no bound: build strings with snprintf or a buf_ helper"
        [gets]="no bound: use fgets or getline"
        [atoi]="no error report: use strtol and check errno and the end pointer"
        [atol]="no error report: use strtol and check errno and the end pointer"
        [atof]="no error report: use strtod and check errno and the end pointer"
        [strtok]="hidden global state: use strtok_r or strsep"
)

# Existing directories of CHECKED_DIRS, one per line.
checked_dirs() {
        local dir
        for dir in "${CHECKED_DIRS[@]}"; do
                if [[ -d $dir ]]; then
                        printf '%s\n' "$dir"
                fi
        done
}

# Prints "file:line: text" for each call of $1 in the C sources: the name as a whole word followed by
# "(" (so snprintf, fgets, strtok_r and strncat do not match).
find_calls() {
        local -a dirs
        mapfile -t dirs < <(checked_dirs)
        [[ ${#dirs[@]} -gt 0 ]] || return 0
        grep -rnE --include='*.c' --include='*.h' "(^|[^A-Za-z0-9_])$1[[:space:]]*\(" "${dirs[@]}" || true
}

check_banned_calls() {
        local call file line text found=0
        local -a calls
        mapfile -t calls < <(printf '%s\n' "${!BANNED_CALLS[@]}" | sort)
        for call in "${calls[@]}"; do
                while IFS=: read -r file line text; do
                        printf '%s:%s: banned call %s(): %s\n    %s\n' "$file" "$line" "$call" \
                                "${BANNED_CALLS[$call]}" "${text#"${text%%[![:space:]]*}"}"
                        found=1
                done < <(find_calls "$call")
        done
        return "$found"
}

# strtol & co. without an end pointer, allocations not tested for NULL.
check_unchecked_results() {
        local -a files
        mapfile -t files < <(git ls-files -- 'src/*.c' 'tests/programs/*.c' 'bench/*.c' 2>/dev/null ||
                find src tests/programs bench -name '*.c')
        [[ ${#files[@]} -gt 0 ]] || return 0
        "${SOURCE_RULES[@]}" unchecked "${files[@]}"
}

check_module_cycles() {
        local -a dirs=()
        local dir
        for dir in "${ACYCLIC_DIRS[@]}"; do
                [[ -d $dir ]] && dirs+=("$dir")
        done
        [[ ${#dirs[@]} -gt 0 ]] || return 0
        "${SOURCE_RULES[@]}" cycles "${dirs[@]}"
}

# One warn_unused_result macro: OTEL_WUR, defined in $WUR_HEADER.
check_one_wur_macro() {
        local found
        found=$(grep -rn --include='*.c' --include='*.h' 'warn_unused_result' "${CHECKED_DIRS[@]}" |
                grep -v "^$WUR_HEADER:.*define OTEL_WUR " || true)
        [[ -z $found ]] && return 0
        printf '%s\n    use OTEL_WUR (%s)\n' "$found" "$WUR_HEADER"
        return 1
}

check_cppcheck() {
        have_command cppcheck || die "cppcheck is not installed (scripts/test installs it)"
        # The daemons include the shared headers of src/common (macros among them) as well as the SDK's.
        cppcheck --error-exitcode=1 --enable=warning,portability --inline-suppr -q -I src/otel -I src/common src/
}

# Every C file as .clang-format lays it out (one style, no review time spent on layout).
check_format() {
        have_command clang-format || die "clang-format is not installed (scripts/test installs it)"
        local -a files
        mapfile -t files < <(git ls-files -- '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')
        [[ ${#files[@]} -gt 0 ]] || return 0
        clang-format --dry-run --Werror "${files[@]}"
}

main() {
        cd "$(repo_root)"
        local rc=0
        if check_banned_calls; then
                log_info "no banned calls in ${CHECKED_DIRS[*]}"
        else
                log_error "banned calls found (see above)"
                rc=1
        fi
        if check_unchecked_results; then
                log_info "every strtol-family call has an end pointer, every allocation is tested"
        else
                log_error "unchecked conversions or allocations found (see above)"
                rc=1
        fi
        if check_module_cycles; then
                log_info "no module cycles in ${ACYCLIC_DIRS[*]}"
        else
                log_error "module cycles found (see above)"
                rc=1
        fi
        if check_one_wur_macro; then
                log_info "one warn_unused_result macro (OTEL_WUR)"
        else
                log_error "warn_unused_result spelled out (see above)"
                rc=1
        fi
        if check_format; then
                log_info "clang-format: clean"
        else
                log_error "files differ from .clang-format (run clang-format -i on them)"
                rc=1
        fi
        if check_cppcheck; then
                log_info "cppcheck: clean"
        else
                log_error "cppcheck found problems (see above)"
                rc=1
        fi
        return "$rc"
}

main "$@"
