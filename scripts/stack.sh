#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The observability stack beside the daemons: builds (and caches) the project's Collector
# distribution, Jaeger v2 and the Zipkin server, and starts/stops the whole system on one machine:
# PostgreSQL, oteldemo-backend, oteldemo-frontend, Collector, Jaeger, Zipkin, Prometheus.
# Sourced after scripts/lib.sh by scripts/demo, scripts/test-stack (and scripts/package); callers
# set -euo pipefail themselves. Entry point for other scripts: stack_main (see its usage).

# ---- pinned versions -----------------------------------------------------------------------------
# One collector release for every module of the distribution: v0.148.0 (stable modules v1.54.0) is
# the newest release at which the zipkin exporter is served; packaging/otelcol/manifest.yaml pins it.
readonly STACK_OTELCOL_VERSION=0.148.0
readonly STACK_JAEGER_VERSION=1.75.0 # github.com/jaegertracing/jaeger (Jaeger v2's cmd/jaeger)
readonly STACK_JAEGER_GO=1.24.6      # the go line of Jaeger's own go.mod at that version
readonly STACK_ZIPKIN_VERSION=3.6.1  # io.zipkin:zipkin-server, classifier exec
readonly STACK_NFPM_VERSION=2.48.0   # github.com/goreleaser/nfpm/v2
# Niceness of the Go builds: 10, so that a machine's other work keeps its CPU; .ci/run gives 0, as the
# build is its critical path on a fresh machine.
STACK_NICE=${STACK_NICE:-10}
# Go older than this cannot fetch a newer toolchain by itself (GOTOOLCHAIN appeared in 1.21).
readonly STACK_GO_MIN_MINOR=21
readonly STACK_BACKPORTS_LIST=/etc/apt/sources.list.d/oteldemo-bookworm-backports.list

readonly STACK_READY_TIMEOUT_S=${STACK_READY_TIMEOUT_S:-120}
readonly STACK_STOP_TIMEOUT_S=15
readonly STACK_PROGRESS_EVERY_S=20

# What building and running the daemons needs, named in full because recommends are not installed.
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly STACK_DAEMON_APT_PACKAGES=(
        gcc libc6-dev pkg-config meson ninja-build
        protobuf-c-compiler libprotobuf-c-dev libcurl4-openssl-dev libjson-c-dev zlib1g-dev
        libsystemd-dev libmicrohttpd-dev libpq-dev
        postgresql curl ca-certificates
)
# Debian packages the stack needs on top of the daemons' (Prometheus, Java for Zipkin, Maven to
# fetch it, Python for the tests).
readonly STACK_APT_PACKAGES=(prometheus openjdk-17-jre-headless maven curl ca-certificates python3 python3-pytest
        python3-yaml)

# Outside the repository, keyed by version (and recipe hash): a second run finds everything built.
stack_cache_dir() {
        if [[ -n ${OTELDEMO_STACK_CACHE:-} ]]; then
                printf '%s\n' "$OTELDEMO_STACK_CACHE"
        elif [[ $EUID -eq 0 ]]; then
                printf '%s\n' /var/cache/oteldemo/stack
        else
                printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/oteldemo/stack"
        fi
}

stack_repo() {
        (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

# First 12 hex digits of the sha256 of the given files (a cache key).
stack_hash() {
        cat "$@" | sha256sum | cut -c1-12
}

# ---- progress ------------------------------------------------------------------------------------

# Runs a long command with its output in LOG and a line every STACK_PROGRESS_EVERY_S seconds
# (elapsed time and the log's last line), so that a first build shows it is alive.
stack_run_logged() { # what log command...
        local what=$1 log=$2 pid start rc=0 last
        shift 2
        start=$SECONDS
        log_info "$what (log: $log)"
        "$@" >"$log" 2>&1 &
        pid=$!
        while kill -0 "$pid" 2>/dev/null; do
                sleep 2 &
                wait $! || true
                if (((SECONDS - start) % STACK_PROGRESS_EVERY_S < 2 && SECONDS - start >= 2)); then
                        last=$(tail -n 1 "$log" 2>/dev/null | cut -c1-100)
                        log_info "  ... $what: $((SECONDS - start))s${last:+ ($last)}"
                fi
        done
        wait "$pid" || rc=$?
        if [[ $rc -ne 0 ]]; then
                tail -n 30 "$log" >&2 || true
                die "$what failed (exit $rc; log: $log)"
        fi
        log_info "  done: $what in $((SECONDS - start))s"
}

# ---- toolchains ----------------------------------------------------------------------------------

# Go's minor version ("1.26.8" -> 26) of the go binary given, or nothing.
stack_go_minor() {
        local v
        v=$("$1" env GOVERSION 2>/dev/null) || return 1
        [[ $v =~ ^go1\.([0-9]+) ]] || return 1
        printf '%s\n' "${BASH_REMATCH[1]}"
}

# Prints the go binary to use, installing one when none is recent enough: Debian 12's golang-go is
# 1.19, so Go comes from bookworm-backports (1.23), which then fetches the toolchain the modules ask
# for (go.mod's go line) from the Go module proxy by itself (GOTOOLCHAIN=auto).
stack_go() {
        local cand minor
        for cand in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go-1.2[3-9]/bin/go; do
                [[ -n $cand && -x $cand ]] || continue
                minor=$(stack_go_minor "$cand") || continue
                if ((minor >= STACK_GO_MIN_MINOR)); then
                        printf '%s\n' "$cand"
                        return 0
                fi
        done
        log_info "no Go >= 1.$STACK_GO_MIN_MINOR: installing golang-go from bookworm-backports" >&2
        if [[ ! -f $STACK_BACKPORTS_LIST ]] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
                printf 'deb http://deb.debian.org/debian bookworm-backports main\n' | as_root tee "$STACK_BACKPORTS_LIST" >/dev/null
        fi
        apt_get update -q >&2
        apt_get install -y -q \
                --no-install-recommends -t bookworm-backports golang-go >&2
        cand=$(printf '%s\n' /usr/lib/go-1.2[3-9]/bin/go | sort -V | tail -n 1)
        [[ -x $cand ]] || die "golang-go from bookworm-backports did not install a Go >= 1.23"
        printf '%s\n' "$cand"
}

# Runs go with a toolchain switch allowed (the machine may say GOTOOLCHAIN=local) and the module
# proxy as the only source.
stack_go_run() {
        env GOTOOLCHAIN="${STACK_GOTOOLCHAIN:-auto}" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 \
                nice -n "$STACK_NICE" "$STACK_GO_BIN" "$@"
}

# ---- builds --------------------------------------------------------------------------------------

# Paths of the built components, valid after stack_build (or stack_paths).
STACK_OTELCOL_BIN=
STACK_JAEGER_BIN=
STACK_ZIPKIN_JAR=
STACK_NFPM_BIN=
STACK_GO_BIN=

stack_paths() {
        local cache repo
        cache=$(stack_cache_dir)
        repo=$(stack_repo)
        STACK_OTELCOL_BIN=$cache/otelcol-$STACK_OTELCOL_VERSION-$(stack_hash "$repo/packaging/otelcol/manifest.yaml")/oteldemo-otelcol
        STACK_JAEGER_BIN=$cache/jaeger-$STACK_JAEGER_VERSION-$(stack_jaeger_recipe | stack_hash -)/jaeger
        STACK_ZIPKIN_JAR=$cache/zipkin-$STACK_ZIPKIN_VERSION/zipkin-server-$STACK_ZIPKIN_VERSION-exec.jar
        STACK_NFPM_BIN=$cache/nfpm-$STACK_NFPM_VERSION/nfpm
}

# A build is staged in the empty directory <dir>.tmp and renamed to <dir> only once complete, so an
# interrupted build never leaves a half-filled cache entry.
stack_stage_begin() {
        rm -rf "$1.tmp"
        mkdir -p "$1.tmp"
}

stack_stage_commit() {
        rm -rf "$1"
        mv "$1.tmp" "$1"
}

# The Collector Builder itself, then the distribution from the manifest (into a temp dir renamed
# into place only when complete, so an interrupted build is never taken for a cached one).
stack_build_otelcol() {
        local cache dir work ocb
        [[ -x $STACK_OTELCOL_BIN ]] && return 0
        cache=$(stack_cache_dir)
        dir=$(dirname "$STACK_OTELCOL_BIN")
        ocb=$cache/ocb-$STACK_OTELCOL_VERSION/builder
        if [[ ! -x $ocb ]]; then
                mkdir -p "$(dirname "$ocb")"
                stack_run_logged "installing ocb v$STACK_OTELCOL_VERSION" "$cache/ocb-$STACK_OTELCOL_VERSION.log" \
                        env GOBIN="$(dirname "$ocb")" GOTOOLCHAIN="${STACK_GOTOOLCHAIN:-auto}" GOFLAGS=-buildvcs=false \
                        nice -n "$STACK_NICE" "$STACK_GO_BIN" install "go.opentelemetry.io/collector/cmd/builder@v$STACK_OTELCOL_VERSION"
        fi
        work=$dir.tmp
        stack_stage_begin "$dir"
        sed "s#^\(  output_path:\).*#\1 $work/dist#" "$(stack_repo)/packaging/otelcol/manifest.yaml" >"$work/manifest.yaml"
        # ocb runs the go on PATH: the one chosen above.
        stack_run_logged "building the Collector distribution (ocb, collector v$STACK_OTELCOL_VERSION; 5-15 min the first time)" \
                "$work/build.log" env PATH="$(dirname "$STACK_GO_BIN"):$PATH" GOTOOLCHAIN="${STACK_GOTOOLCHAIN:-auto}" \
                GOFLAGS=-buildvcs=false CGO_ENABLED=0 nice -n "$STACK_NICE" "$ocb" --config "$work/manifest.yaml"
        mv "$work/dist/oteldemo-otelcol" "$work/oteldemo-otelcol"
        rm -rf "$work/dist"
        stack_stage_commit "$dir"
}

# The go.mod that builds Jaeger: the approved version as a tool of a throwaway module.
stack_jaeger_recipe() {
        printf 'module oteldemo.local/jaeger-build\n\ngo %s\n# jaeger v%s\n' "$STACK_JAEGER_GO" "$STACK_JAEGER_VERSION"
}

stack_build_jaeger() {
        local dir work
        [[ -x $STACK_JAEGER_BIN ]] && return 0
        dir=$(dirname "$STACK_JAEGER_BIN")
        work=$dir.tmp
        stack_stage_begin "$dir"
        stack_jaeger_recipe | sed '/^#/d' >"$work/go.mod"
        (cd "$work" && stack_run_logged "fetching Jaeger v$STACK_JAEGER_VERSION (Go modules)" "$work/get.log" \
                stack_go_run get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@v$STACK_JAEGER_VERSION")
        (cd "$work" && stack_run_logged "building Jaeger v$STACK_JAEGER_VERSION (5-15 min the first time)" "$work/build.log" \
                stack_go_run build -trimpath -ldflags '-s -w' -o jaeger github.com/jaegertracing/jaeger/cmd/jaeger)
        stack_stage_commit "$dir"
}

# The Zipkin server's executable jar from Maven Central, checksums enforced.
stack_fetch_zipkin() {
        local dir work
        [[ -f $STACK_ZIPKIN_JAR ]] && return 0
        dir=$(dirname "$STACK_ZIPKIN_JAR")
        work=$dir.tmp
        stack_stage_begin "$dir"
        stack_run_logged "fetching io.zipkin:zipkin-server:$STACK_ZIPKIN_VERSION:exec (Maven Central)" "$work/mvn.log" \
                mvn -B -C -q dependency:copy "-Dartifact=io.zipkin:zipkin-server:$STACK_ZIPKIN_VERSION:jar:exec" \
                "-DoutputDirectory=$work"
        [[ -s $work/$(basename "$STACK_ZIPKIN_JAR") ]] || die "maven did not deliver $(basename "$STACK_ZIPKIN_JAR")"
        stack_stage_commit "$dir"
}

stack_build_nfpm() {
        local dir
        [[ -x $STACK_NFPM_BIN ]] && return 0
        [[ -n $STACK_GO_BIN ]] || STACK_GO_BIN=$(stack_go)
        dir=$(dirname "$STACK_NFPM_BIN")
        mkdir -p "$dir"
        stack_run_logged "installing nfpm v$STACK_NFPM_VERSION" "$dir.log" \
                env GOBIN="$dir" GOTOOLCHAIN="${STACK_GOTOOLCHAIN:-auto}" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
                nice -n "$STACK_NICE" "$STACK_GO_BIN" install "github.com/goreleaser/nfpm/v2/cmd/nfpm@v$STACK_NFPM_VERSION"
}

stack_cached() {
        [[ -x $STACK_OTELCOL_BIN && -x $STACK_JAEGER_BIN && -f $STACK_ZIPKIN_JAR ]]
}

# An exclusive lock on the cache while it is filled (stack_unlock_cache releases it), so that two
# builders (.ci/run's background build and a layer, or two users of one machine) never fill one
# entry at once: the second waits, then finds the entry built. A killed builder's lock dies with it.
STACK_LOCK_FD=
stack_lock_cache() {
        [[ -z $STACK_LOCK_FD ]] || return 0
        mkdir -p "$(stack_cache_dir)"
        exec {STACK_LOCK_FD}>>"$(stack_cache_dir)/.build.lock"
        if ! flock -n "$STACK_LOCK_FD"; then
                log_info "waiting for another build of $(stack_cache_dir) to finish"
                flock "$STACK_LOCK_FD"
        fi
}

stack_unlock_cache() {
        [[ -n $STACK_LOCK_FD ]] || return 0
        exec {STACK_LOCK_FD}>&-
        STACK_LOCK_FD=
}

# Everything the stack runs, built or fetched once (Debian packages included unless told not to).
stack_build() { # [--no-install]
        local start=$SECONDS
        [[ ${1:-} == --no-install ]] || deb_install_missing "${STACK_APT_PACKAGES[@]}"
        stack_paths
        if ! stack_cached; then
                stack_lock_cache
        fi
        if stack_cached; then
                stack_unlock_cache
                log_info "stack components cached in $(stack_cache_dir)"
                return 0
        fi
        STACK_GO_BIN=$(stack_go)
        log_info "using $("$STACK_GO_BIN" version)"
        stack_fetch_zipkin
        stack_build_otelcol
        stack_build_jaeger
        stack_unlock_cache
        log_info "stack components ready in $((SECONDS - start))s ($(stack_cache_dir))"
}

# The Collector alone (scripts/test-faults runs it as the daemons' OTLP endpoint): taken from the
# cache, or built into it under the same lock as stack_build, so that a layer running beside .ci/run's
# background build waits for that build instead of starting a second one. Installs no Debian package
# (the Go toolchain aside, which stack_go installs when there is none).
stack_build_collector() {
        stack_paths
        if [[ ! -x $STACK_OTELCOL_BIN ]]; then
                stack_lock_cache
        fi
        if [[ ! -x $STACK_OTELCOL_BIN ]]; then
                STACK_GO_BIN=$(stack_go)
                log_info "using $("$STACK_GO_BIN" version)"
                stack_build_otelcol
        fi
        stack_unlock_cache
        log_info "Collector: $STACK_OTELCOL_BIN"
}

# ---- ports ---------------------------------------------------------------------------------------

# True when something listens on the port (127.0.0.1 answers, or ss lists a listener). Not any socket
# with that local port: a client's connection may have it as its ephemeral port (a CI run beside Go
# module downloads reported ports busy that test_demo had just found free), and that does not keep a
# server from binding it. (ss lists no TCP socket that is bound but not listening, with -a or not.)
stack_port_busy() {
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        have_command ss && [[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]]
}

STACK_TAKEN_PORTS=" "

# A free loopback port not handed out before in this run.
stack_free_port() {
        local port i
        for ((i = 0; i < 500; i++)); do
                port=$((20000 + RANDOM % 30000))
                [[ $STACK_TAKEN_PORTS == *" $port "* ]] && continue
                stack_port_busy "$port" && continue
                STACK_TAKEN_PORTS+="$port "
                printf '%s\n' "$port"
                return 0
        done
        die "no free loopback port found"
}

# Every port of the system, defaulting to the packages' own (the configs in etc/ use these).
stack_default_ports() {
        : "${STACK_SHOP_PORT:=8080}" "${STACK_BACKEND_PORT:=8081}" "${STACK_PROMETHEUS_PORT:=9090}"
        : "${STACK_OTLP_GRPC_PORT:=4317}" "${STACK_OTLP_HTTP_PORT:=4318}" "${STACK_OTELCOL_METRICS_PORT:=8888}"
        : "${STACK_OTELCOL_PROM_PORT:=9464}" "${STACK_OTELCOL_HEALTH_PORT:=13133}" "${STACK_ZPAGES_PORT:=55679}"
        : "${STACK_JAEGER_OTLP_GRPC_PORT:=4327}" "${STACK_JAEGER_OTLP_HTTP_PORT:=4328}"
        : "${STACK_JAEGER_PORT:=16686}" "${STACK_JAEGER_GRPC_PORT:=16685}" "${STACK_JAEGER_METRICS_PORT:=8889}"
        : "${STACK_JAEGER_HEALTH_PORT:=13134}" "${STACK_ZIPKIN_PORT:=9411}"
}

readonly STACK_PORT_VARS=(STACK_SHOP_PORT STACK_BACKEND_PORT STACK_PROMETHEUS_PORT STACK_OTLP_GRPC_PORT
        STACK_OTLP_HTTP_PORT STACK_OTELCOL_METRICS_PORT STACK_OTELCOL_PROM_PORT STACK_OTELCOL_HEALTH_PORT
        STACK_ZPAGES_PORT STACK_JAEGER_OTLP_GRPC_PORT STACK_JAEGER_OTLP_HTTP_PORT STACK_JAEGER_PORT
        STACK_JAEGER_GRPC_PORT STACK_JAEGER_METRICS_PORT STACK_JAEGER_HEALTH_PORT STACK_ZIPKIN_PORT STACK_PG_PORT)

# Free ports for everything (the tests): nothing collides with a running demo or package.
stack_free_ports() {
        local var
        for var in "${STACK_PORT_VARS[@]}"; do
                printf -v "$var" '%s' "$(stack_free_port)"
        done
}

# ---- processes -----------------------------------------------------------------------------------

STACK_TMP=
STACK_PG_BIN=
STACK_PG_RUN=()
STACK_PG_STARTED=false
# PIDs of what we started, in start order; stopped in reverse.
STACK_PIDS=()
STACK_NAMES=()

stack_stop_pid() { # pid name
        local pid=$1 name=$2 i
        kill -0 "$pid" 2>/dev/null || return 0
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < STACK_STOP_TIMEOUT_S * 10; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
                log_warn "$name (pid $pid) did not stop within ${STACK_STOP_TIMEOUT_S}s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
}

# Stops everything started (reverse order), PostgreSQL last, and removes the temp dir (unless
# STACK_KEEP_TMP=1, to read the logs).
stack_down() {
        local i
        if [[ ${#STACK_PIDS[@]} -gt 0 ]]; then
                log_info "stopping"
                for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
                        stack_stop_pid "${STACK_PIDS[$i]}" "${STACK_NAMES[$i]}"
                done
                STACK_PIDS=()
                STACK_NAMES=()
        fi
        if [[ $STACK_PG_STARTED == true ]]; then
                "${STACK_PG_RUN[@]}" "$STACK_PG_BIN/pg_ctl" -D "$STACK_TMP/pg/data" -m fast -w stop >/dev/null 2>&1 ||
                        log_warn "could not stop PostgreSQL cleanly (see $STACK_TMP/pg/server.log)"
                STACK_PG_STARTED=false
        fi
        if [[ -n $STACK_TMP && -d $STACK_TMP && ${STACK_KEEP_TMP:-0} != 1 ]]; then
                rm -rf "$STACK_TMP"
        fi
}

# Starts a background process (its output to logs/NAME.log) and remembers it for stack_down.
stack_start_bg() { # name command...
        local name=$1
        shift
        "$@" >"$STACK_TMP/logs/$name.log" 2>&1 &
        STACK_PIDS+=("$!")
        STACK_NAMES+=("$name")
}

# Waits for url to answer 2xx; fails with the log when the process exits or the time is up.
stack_wait_http() { # url name
        local url=$1 name=$2 pid=${STACK_PIDS[-1]} i
        local -a tls=()
        # Without curl every probe fails alike: say so now, not after the timeout.
        have_command curl || die "curl is not installed (apt-get install curl): needed to wait for $name"
        [[ $url != https://* ]] || mapfile -t tls < <(stack_curl_tls_args)
        for ((i = 0; i < STACK_READY_TIMEOUT_S * 10; i++)); do
                if curl -fsS -o /dev/null --max-time 2 "${tls[@]}" "$url" 2>/dev/null; then
                        return 0
                fi
                kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -n 15 "$STACK_TMP/logs/$name.log")"
                sleep 0.1
        done
        die "$name did not answer $url within ${STACK_READY_TIMEOUT_S}s (log: $STACK_TMP/logs/$name.log)"
}

# Name of the first started process that is no longer running (nothing when all run).
stack_dead() {
        local i
        for i in "${!STACK_PIDS[@]}"; do
                if ! kill -0 "${STACK_PIDS[$i]}" 2>/dev/null; then
                        printf '%s\n' "${STACK_NAMES[$i]}"
                        return 0
                fi
        done
}

# ---- PostgreSQL and the daemons --------------------------------------------------------------------

# A cluster of its own: initdb into the temp dir, trust auth on loopback only. PostgreSQL refuses to
# run as root, so as root it runs as the postgres user.
stack_start_postgres() {
        local initdb
        initdb=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
        [[ -x $initdb ]] || die "PostgreSQL is not installed (apt-get install postgresql)"
        STACK_PG_BIN=$(dirname "$initdb")
        mkdir -p "$STACK_TMP/pg/sock"
        if [[ $EUID -eq 0 ]]; then
                chmod 711 "$STACK_TMP"
                chown -R postgres: "$STACK_TMP/pg"
                STACK_PG_RUN=(runuser -u postgres --)
        fi
        log_info "starting PostgreSQL on 127.0.0.1:$STACK_PG_PORT"
        "${STACK_PG_RUN[@]}" "$STACK_PG_BIN/initdb" -D "$STACK_TMP/pg/data" -U oteldemo -A trust -E UTF8 --locale=C \
                --no-sync >"$STACK_TMP/logs/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$STACK_TMP/logs/initdb.log")"
        "${STACK_PG_RUN[@]}" "$STACK_PG_BIN/pg_ctl" -D "$STACK_TMP/pg/data" -l "$STACK_TMP/pg/server.log" -w -t 30 -o \
                "-p $STACK_PG_PORT -k $STACK_TMP/pg/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" \
                start >/dev/null || die "PostgreSQL did not start: $(tail -n 5 "$STACK_TMP/pg/server.log" 2>/dev/null)"
        STACK_PG_STARTED=true
        "$STACK_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$STACK_PG_PORT" -U oteldemo -d postgres -c 'CREATE DATABASE oteldemo' \
                >/dev/null || die "could not create the database"
}

# ---- TLS (STACK_TLS=true: scripts/demo --tls) -----------------------------------------------------

readonly STACK_TLS_DAYS=30

# http or https: the scheme of both daemons' listeners.
stack_scheme() {
        if [[ ${STACK_TLS:-false} == true ]]; then printf 'https\n'; else printf 'http\n'; fi
}

# What curl needs to reach either daemon: the run's CA, and the client certificate the backend asks for.
stack_curl_tls_args() {
        [[ ${STACK_TLS:-false} == true ]] || return 0
        printf '%s\n' --cacert "$STACK_TMP/tls/ca.pem" --cert "$STACK_TMP/tls/client.pem" --key "$STACK_TMP/tls/client.key"
}

# One leaf certificate of the run's CA: NAME.pem and NAME.key (0600), for 127.0.0.1 and localhost,
# with the extended key usages given (serverAuth, clientAuth or both).
stack_tls_issue() { # name usages
        local dir=$STACK_TMP/tls name=$1
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$2" \
                >"$dir/$name.ext"
        (umask 077 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" \
                -out "$dir/$name.csr" -subj "/CN=oteldemo-$name") >>"$dir/openssl.log" 2>&1 || return 1
        openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
                -days "$STACK_TLS_DAYS" -extfile "$dir/$name.ext" -out "$dir/$name.pem" >>"$dir/openssl.log" 2>&1 || return 1
        rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# A throwaway CA in the temp dir (removed with it) and what it signs: the backend's server
# certificate, the frontend's (server, and client towards the backend: mutual TLS), and one client
# certificate for the CLI and Prometheus. Keys are 0600.
stack_make_tls() {
        local dir=$STACK_TMP/tls
        have_command openssl || die "--tls needs the openssl command (apt-get install openssl)"
        mkdir -m 0700 "$dir"
        (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
                -out "$dir/ca.pem" -days "$STACK_TLS_DAYS" -subj "/CN=oteldemo throwaway CA" \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign) \
                >>"$dir/openssl.log" 2>&1 || die "openssl could not make the CA (see $dir/openssl.log)"
        stack_tls_issue backend serverAuth || die "openssl could not sign the backend's certificate"
        stack_tls_issue frontend serverAuth,clientAuth || die "openssl could not sign the frontend's certificate"
        stack_tls_issue client clientAuth || die "openssl could not sign the client certificate"
        chmod 644 "$dir"/*.pem
        log_info "TLS: a throwaway CA in $dir, mutual TLS between the frontend and the backend"
}

# The daemons' configs; with the stack, the frontend links traces to Jaeger and an admin token
# (STACK_ADMIN_TOKEN, in a file only we can read) opens PUT /admin/faults. A write token
# (STACK_WRITE_TOKEN) becomes the credential "write-token" of both daemons (stack_daemon_env): the
# backend then wants it on POST /api/users and /api/orders, and the frontend sends it.
stack_write_daemon_configs() { # repo
        local repo=$1
        cat >"$STACK_TMP/backend.conf" <<EOF
[server]
listen = 127.0.0.1:$STACK_BACKEND_PORT

[database]
conninfo = host=127.0.0.1 port=$STACK_PG_PORT user=oteldemo dbname=oteldemo
migrations_dir = $repo/db
EOF
        if [[ ${STACK_TLS:-false} == true ]]; then
                sed -i "/^listen = /a tls_cert = $STACK_TMP/tls/backend.pem\\ntls_key = $STACK_TMP/tls/backend.key\\ntls_client_ca = $STACK_TMP/tls/ca.pem" \
                        "$STACK_TMP/backend.conf"
        fi
        if [[ -n ${STACK_ADMIN_TOKEN:-} ]]; then
                printf '\n[admin]\ntoken = %s\n' "$STACK_ADMIN_TOKEN" >>"$STACK_TMP/backend.conf"
        fi
        chmod 600 "$STACK_TMP/backend.conf"
        if [[ -n ${STACK_WRITE_TOKEN:-} ]]; then
                mkdir -p -m 0700 "$STACK_TMP/credentials"
                (umask 077 && printf '%s\n' "$STACK_WRITE_TOKEN" >"$STACK_TMP/credentials/write-token")
        fi
        cat >"$STACK_TMP/frontend.conf" <<EOF
[server]
listen = 127.0.0.1:$STACK_SHOP_PORT
www_dir = $repo/www

[backend]
url = $(stack_scheme)://127.0.0.1:$STACK_BACKEND_PORT
EOF
        if [[ ${STACK_TLS:-false} == true ]]; then
                sed -i "/^www_dir = /a tls_cert = $STACK_TMP/tls/frontend.pem\\ntls_key = $STACK_TMP/tls/frontend.key" \
                        "$STACK_TMP/frontend.conf"
                printf 'ca_file = %s\nclient_cert = %s\nclient_key = %s\n' "$STACK_TMP/tls/ca.pem" \
                        "$STACK_TMP/tls/frontend.pem" "$STACK_TMP/tls/frontend.key" >>"$STACK_TMP/frontend.conf"
        fi
        if [[ -n ${STACK_JAEGER_URL:-} ]]; then
                printf '\n[ui]\njaeger_url = %s\n' "$STACK_JAEGER_URL" >>"$STACK_TMP/frontend.conf"
        fi
}

# The daemons' environment: with the stack (STACK_WITH_COLLECTOR=true) traces and logs go to the
# Collector over OTLP/HTTP and metrics stay on /metrics, scraped by Prometheus (not pushed as
# well, which would store every series twice).
stack_daemon_env() {
        if [[ -e $STACK_TMP/credentials/write-token ]]; then
                printf '%s\n' "CREDENTIALS_DIRECTORY=$STACK_TMP/credentials"
        fi
        if [[ ${STACK_WITH_COLLECTOR:-false} == true ]]; then
                printf '%s\n' "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$STACK_OTLP_HTTP_PORT" \
                        OTEL_TRACES_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp OTEL_METRICS_EXPORTER=prometheus \
                        "OTEL_BSP_SCHEDULE_DELAY=${STACK_EXPORT_DELAY_MS:-1000}" \
                        "OTEL_BLRP_SCHEDULE_DELAY=${STACK_EXPORT_DELAY_MS:-1000}"
        fi
}

stack_start_daemons() { # build_dir repo
        local build=$1 repo=$2 backend frontend
        local -a envs
        backend=$build/src/backend/oteldemo-backend
        frontend=$build/src/frontend/oteldemo-frontend
        stack_write_daemon_configs "$repo" # first: the environment names its credentials
        mapfile -t envs < <(stack_daemon_env)
        log_info "migrating the database (schema and sample data)"
        "$backend" --config "$STACK_TMP/backend.conf" --migrate >"$STACK_TMP/logs/migrate.log" 2>&1 ||
                die "migration failed: $(tail -n 5 "$STACK_TMP/logs/migrate.log")"
        stack_start_bg oteldemo-backend env "${envs[@]}" "$backend" --config "$STACK_TMP/backend.conf"
        stack_wait_http "$(stack_scheme)://127.0.0.1:$STACK_BACKEND_PORT/readyz" oteldemo-backend
        stack_start_bg oteldemo-frontend env "${envs[@]}" "$frontend" --config "$STACK_TMP/frontend.conf"
        stack_wait_http "$(stack_scheme)://127.0.0.1:$STACK_SHOP_PORT/readyz" oteldemo-frontend
}

# ---- the observability components ----------------------------------------------------------------

# The Collector's environment: etc/otelcol/config.yaml reads its addresses from these.
stack_otelcol_env() {
        printf '%s\n' "OTELCOL_OTLP_GRPC_ENDPOINT=127.0.0.1:$STACK_OTLP_GRPC_PORT" \
                "OTELCOL_OTLP_HTTP_ENDPOINT=127.0.0.1:$STACK_OTLP_HTTP_PORT" \
                "OTELCOL_HEALTH_ENDPOINT=127.0.0.1:$STACK_OTELCOL_HEALTH_PORT" \
                "OTELCOL_ZPAGES_ENDPOINT=127.0.0.1:$STACK_ZPAGES_PORT" \
                "OTELCOL_PROMETHEUS_ENDPOINT=127.0.0.1:$STACK_OTELCOL_PROM_PORT" \
                "OTELCOL_METRICS_PORT=$STACK_OTELCOL_METRICS_PORT" \
                "OTELCOL_JAEGER_OTLP_ENDPOINT=127.0.0.1:$STACK_JAEGER_OTLP_GRPC_PORT" \
                "OTELCOL_ZIPKIN_ENDPOINT=http://127.0.0.1:$STACK_ZIPKIN_PORT/api/v2/spans" \
                "OTELCOL_LOGS_FILE=$STACK_TMP/otelcol/logs.jsonl" \
                "OTELCOL_SPANMETRICS_FLUSH=${STACK_SPANMETRICS_FLUSH:-15s}" \
                "OTELCOL_BATCH_TIMEOUT=${STACK_BATCH_TIMEOUT:-1s}"
}

stack_jaeger_env() {
        printf '%s\n' "JAEGER_OTLP_GRPC_ENDPOINT=127.0.0.1:$STACK_JAEGER_OTLP_GRPC_PORT" \
                "JAEGER_OTLP_HTTP_ENDPOINT=127.0.0.1:$STACK_JAEGER_OTLP_HTTP_PORT" \
                "JAEGER_QUERY_HTTP_ENDPOINT=127.0.0.1:$STACK_JAEGER_PORT" \
                "JAEGER_QUERY_GRPC_ENDPOINT=127.0.0.1:$STACK_JAEGER_GRPC_PORT" \
                "JAEGER_HEALTH_ENDPOINT=127.0.0.1:$STACK_JAEGER_HEALTH_PORT" \
                "JAEGER_METRICS_PORT=$STACK_JAEGER_METRICS_PORT"
}

stack_start_jaeger() { # repo
        local -a envs
        mapfile -t envs < <(stack_jaeger_env)
        log_info "starting Jaeger on 127.0.0.1:$STACK_JAEGER_PORT"
        stack_start_bg jaeger env "${envs[@]}" "$STACK_JAEGER_BIN" --config "$1/etc/jaeger/config.yaml"
        stack_wait_http "http://127.0.0.1:$STACK_JAEGER_HEALTH_PORT/status" jaeger
}

# Zipkin: in-memory storage, loopback only, a small heap (the demo keeps few traces).
stack_zipkin_cmd() {
        printf '%s\n' java -Xms64m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$STACK_ZIPKIN_JAR" \
                "--armeria.ports[0].ip=127.0.0.1" "--armeria.ports[0].port=$STACK_ZIPKIN_PORT" \
                "--armeria.ports[0].protocols=http" --zipkin.storage.type=mem
}

stack_start_zipkin() {
        local -a cmd
        mapfile -t cmd < <(stack_zipkin_cmd)
        log_info "starting Zipkin on 127.0.0.1:$STACK_ZIPKIN_PORT"
        stack_start_bg zipkin env QUERY_PORT="$STACK_ZIPKIN_PORT" STORAGE_TYPE=mem "${cmd[@]}"
        stack_wait_http "http://127.0.0.1:$STACK_ZIPKIN_PORT/health" zipkin
}

stack_start_otelcol() { # repo
        local -a envs
        mapfile -t envs < <(stack_otelcol_env)
        mkdir -p "$STACK_TMP/otelcol"
        log_info "starting the Collector (OTLP 127.0.0.1:$STACK_OTLP_GRPC_PORT gRPC, :$STACK_OTLP_HTTP_PORT HTTP)"
        stack_start_bg otelcol env "${envs[@]}" "$STACK_OTELCOL_BIN" --config "$1/etc/otelcol/config.yaml"
        stack_wait_http "http://127.0.0.1:$STACK_OTELCOL_HEALTH_PORT/" otelcol
}

# etc/prometheus/ for this run: the rules as they are, the config with the run's ports (and, with
# STACK_PROMETHEUS_INTERVAL, shorter scrape and evaluation intervals for the tests).
stack_render_prometheus() { # repo outdir
        local repo=$1 out=$2 interval=${STACK_PROMETHEUS_INTERVAL:-}
        local -a subst=(
                -e "s/127\.0\.0\.1:8080'/127.0.0.1:$STACK_SHOP_PORT'/"
                -e "s/127\.0\.0\.1:8081'/127.0.0.1:$STACK_BACKEND_PORT'/"
                -e "s/127\.0\.0\.1:9464'/127.0.0.1:$STACK_OTELCOL_PROM_PORT'/"
                -e "s/127\.0\.0\.1:8888'/127.0.0.1:$STACK_OTELCOL_METRICS_PORT'/"
                -e "s/127\.0\.0\.1:8889'/127.0.0.1:$STACK_JAEGER_METRICS_PORT'/"
                -e "s/127\.0\.0\.1:9411'/127.0.0.1:$STACK_ZIPKIN_PORT'/"
                -e "s/127\.0\.0\.1:9090'/127.0.0.1:$STACK_PROMETHEUS_PORT'/"
        )
        if [[ -n $interval ]]; then
                subst+=(-e "s/^\(  scrape_interval:\).*/\1 $interval/" -e "s/^\(  evaluation_interval:\).*/\1 $interval/")
        fi
        mkdir -p "$out/rules"
        sed "${subst[@]}" "$repo/etc/prometheus/prometheus.yml" >"$out/prometheus.yml"
        cp "$repo"/etc/prometheus/rules/*.yml "$out/rules/"
}

stack_start_prometheus() { # repo
        local dir=$STACK_TMP/prometheus
        local -a with=()
        stack_render_prometheus "$1" "$dir"
        if [[ ${STACK_WITH_COLLECTOR:-false} != true ]]; then
                # Daemons only: keep the scrape jobs of the daemons and Prometheus itself.
                with=(-e '/job_name: otelcol/,/^$/d' -e '/job_name: jaeger/,/^$/d' -e '/job_name: zipkin/,/^$/d')
                sed -i "${with[@]}" "$dir/prometheus.yml"
        fi
        if [[ ${STACK_TLS:-false} == true ]]; then
                # /metrics is on the daemons' TLS listeners: scrape them over HTTPS, with the client
                # certificate the backend asks for.
                sed -i "/job_name: oteldemo-\(frontend\|backend\)\$/a\\    scheme: https\n    tls_config:\n      ca_file: $STACK_TMP/tls/ca.pem\n      cert_file: $STACK_TMP/tls/client.pem\n      key_file: $STACK_TMP/tls/client.key" \
                        "$dir/prometheus.yml"
        fi
        log_info "starting Prometheus on 127.0.0.1:$STACK_PROMETHEUS_PORT"
        stack_start_bg prometheus /usr/bin/prometheus --config.file="$dir/prometheus.yml" \
                --storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$STACK_PROMETHEUS_PORT" \
                --enable-feature=exemplar-storage --web.enable-lifecycle
        stack_wait_http "http://127.0.0.1:$STACK_PROMETHEUS_PORT/-/ready" prometheus
}

# The whole system: PostgreSQL, the observability components (before the daemons, so that the
# first spans find the Collector), then the daemons. STACK_WITH_COLLECTOR=false runs the daemons
# (and Prometheus, STACK_WITH_PROMETHEUS) only. The caller traps stack_down.
stack_up() { # build_dir
        local repo
        repo=$(stack_repo)
        STACK_TMP=$(mktemp -d -t oteldemo-stack.XXXXXX)
        mkdir -p "$STACK_TMP/logs"
        [[ ${STACK_TLS:-false} != true ]] || stack_make_tls
        stack_start_postgres
        if [[ ${STACK_WITH_COLLECTOR:-false} == true ]]; then
                stack_paths
                : "${STACK_JAEGER_URL:=http://127.0.0.1:$STACK_JAEGER_PORT}"
                stack_start_zipkin
                stack_start_jaeger "$repo"
                stack_start_otelcol "$repo"
        fi
        if [[ ${STACK_WITH_PROMETHEUS:-true} == true && -x /usr/bin/prometheus ]]; then
                stack_start_prometheus "$repo"
        else
                STACK_WITH_PROMETHEUS=false
        fi
        stack_start_daemons "$1" "$repo"
}

# What each URL of a running stack shows.
stack_print_urls() {
        local scheme
        scheme=$(stack_scheme)
        cat <<EOF

  oteldemo is running.
    shop         $scheme://127.0.0.1:$STACK_SHOP_PORT/
    traces       $scheme://127.0.0.1:$STACK_SHOP_PORT/debug/tracez   (backend: $scheme://127.0.0.1:$STACK_BACKEND_PORT/debug/tracez)
    metrics      $scheme://127.0.0.1:$STACK_SHOP_PORT/metrics        (backend: $scheme://127.0.0.1:$STACK_BACKEND_PORT/metrics)
EOF
        if [[ ${STACK_TLS:-false} == true ]]; then
                cat <<EOF
    tls          CA $STACK_TMP/tls/ca.pem (a browser warns: it does not know this CA); the backend asks
                 for a client certificate: curl --cacert $STACK_TMP/tls/ca.pem --cert $STACK_TMP/tls/client.pem --key $STACK_TMP/tls/client.key
EOF
        fi
        if [[ ${STACK_WITH_COLLECTOR:-false} == true ]]; then
                cat <<EOF
    jaeger       http://127.0.0.1:$STACK_JAEGER_PORT/   (query API: /api/traces/<trace id>; no UI assets in this build)
    zipkin       http://127.0.0.1:$STACK_ZIPKIN_PORT/zipkin/   (API: /api/v2/trace/<trace id>)
    collector    OTLP 127.0.0.1:$STACK_OTLP_GRPC_PORT (gRPC) / http://127.0.0.1:$STACK_OTLP_HTTP_PORT (HTTP), zpages http://127.0.0.1:$STACK_ZPAGES_PORT/debug/tracez
                 own metrics http://127.0.0.1:$STACK_OTELCOL_METRICS_PORT/metrics, spanmetrics http://127.0.0.1:$STACK_OTELCOL_PROM_PORT/metrics
                 OTLP logs in $STACK_TMP/otelcol/logs.jsonl
EOF
        fi
        if [[ $STACK_WITH_PROMETHEUS == true ]]; then
                printf '    prometheus   http://127.0.0.1:%s/   (alerts: /alerts)\n' "$STACK_PROMETHEUS_PORT"
        fi
        cat <<EOF
    logs         tail -f $STACK_TMP/logs/*.log
                 (installed as packages, the daemons log to the journal: journalctl -u oteldemo-frontend)
EOF
}

# ---- native packages -----------------------------------------------------------------------------

# .deb or .rpm of one component (otelcol, jaeger, zipkin) into outdir, with nfpm from the package
# definition in packaging/COMPONENT/. The package is cached under the hash of its inputs (definition,
# unit, configs, built program), so a second build is a copy.
stack_package_one() { # component format outdir
        local comp=$1 format=$2 out=$3 repo bin version arch key dir file
        repo=$(stack_repo)
        case $comp in
        otelcol) bin=$STACK_OTELCOL_BIN version=$STACK_OTELCOL_VERSION arch=amd64 ;;
        jaeger) bin=$STACK_JAEGER_BIN version=$STACK_JAEGER_VERSION arch=amd64 ;;
        zipkin) bin=$STACK_ZIPKIN_JAR version=$STACK_ZIPKIN_VERSION arch=all ;;
        *) die "unknown stack component: $comp" ;;
        esac
        [[ $(uname -m) == x86_64 || $arch == all ]] || die "packages are built for amd64 only"
        local -a inputs=("$repo/packaging/$comp"/* "$repo/packaging/postinstall.sh" "$bin")
        [[ ! -f $repo/etc/$comp/config.yaml ]] || inputs+=("$repo/etc/$comp/config.yaml")
        key=$(stack_hash "${inputs[@]}")
        dir=$(stack_cache_dir)/pkg-$comp-$format-$version-$key
        if ! compgen -G "$dir/*.$format" >/dev/null; then
                stack_lock_cache
        fi
        if ! compgen -G "$dir/*.$format" >/dev/null; then
                stack_build_nfpm
                stack_stage_begin "$dir"
                # nfpm expands variables in few fields only: the definition is rendered first.
                sed -e "s#\${STACK_VERSION}#$version#g" -e "s#\${STACK_ARCH}#$arch#g" -e "s#\${STACK_BIN}#$bin#g" \
                        -e "s#\${STACK_REPO}#$repo#g" "$repo/packaging/$comp/nfpm.yaml" >"$dir.tmp.yaml"
                "$STACK_NFPM_BIN" package --config "$dir.tmp.yaml" --packager "$format" --target "$dir.tmp/" \
                        >"$dir.tmp.log" 2>&1 || die "nfpm failed for $comp $format: $(tail -n 5 "$dir.tmp.log")"
                rm -f "$dir.tmp.yaml" "$dir.tmp.log"
                stack_stage_commit "$dir"
        fi
        stack_unlock_cache
        mkdir -p "$out"
        for file in "$dir"/*."$format"; do
                cp "$file" "$out/"
                printf '%s\n' "$out/$(basename "$file")"
        done
}

# Packages of the three stack components in one format; prints the paths.
stack_package() { # deb|rpm outdir
        local comp
        [[ $1 == deb || $1 == rpm ]] || die "package format: deb or rpm, not '$1'"
        stack_build --no-install
        for comp in otelcol jaeger zipkin; do
                stack_package_one "$comp" "$1" "$2"
        done
}

# ---- entry point ---------------------------------------------------------------------------------

stack_usage() {
        cat <<EOF
Usage: stack_main build [--no-install] | package deb|rpm OUTDIR | paths | versions
  build     build or fetch the Collector distribution, Jaeger and Zipkin into $(stack_cache_dir)
  package   .deb or .rpm packages of the three (nfpm) into OUTDIR
  paths     print the paths of the built components
  versions  print the pinned versions
EOF
}

stack_main() {
        case ${1:-} in
        build)
                shift
                stack_build "$@"
                ;;
        package)
                [[ $# -eq 3 ]] || {
                        stack_usage >&2
                        return 2
                }
                stack_package "$2" "$3"
                ;;
        paths)
                stack_paths
                printf '%s\n' "$STACK_OTELCOL_BIN" "$STACK_JAEGER_BIN" "$STACK_ZIPKIN_JAR"
                ;;
        versions)
                printf 'otelcol %s\njaeger %s\nzipkin %s\nnfpm %s\n' "$STACK_OTELCOL_VERSION" "$STACK_JAEGER_VERSION" \
                        "$STACK_ZIPKIN_VERSION" "$STACK_NFPM_VERSION"
                ;;
        *)
                stack_usage >&2
                return 2
                ;;
        esac
}

# Run directly: scripts/stack.sh build|package|paths|versions (scripts/package stack deb|rpm calls
# stack_package).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
        set -euo pipefail
        LIB_PROG=scripts/stack.sh
        # shellcheck source=scripts/lib.sh
        source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
        stack_main "$@"
fi
