#!/usr/bin/env bash
# Make sure the local RabbitMQ and PostgreSQL the project needs are running.
#
# Usage: infra/local-services.sh [ensure|status|stop-broker|start-broker|stop-postgres|start-postgres|
#                                 raise-broker-alarm|clear-broker-alarm]
#
#   ensure        (default) start RabbitMQ and PostgreSQL if their ports do not
#                 answer (installing the Debian packages if missing), wait until
#                 both are ready, then create the project databases; install
#                 Debian's chromium for the browser tests, Node.js and npm for the
#                 AsyncAPI parser, and the font the PDF documents embed
#                 (fonts-dejavu-core), if they are missing.
#   status        report whether each port answers; exit 1 if one does not.
#   stop-broker   rabbitmqctl stop_app (tests use it to simulate an outage).
#   start-broker  rabbitmqctl start_app + await_startup.
#   stop-postgres pg_ctlcluster stop -m fast (fault injection: the store goes away).
#   start-postgres pg_ctlcluster start, then wait until it accepts connections.
#   node          Node.js and npm (for the AsyncAPI parser), installed if missing.
#   raise-broker-alarm  a disk-free limit above the free disk: RabbitMQ's disk alarm
#                 blocks every publishing connection (fault injection).
#   clear-broker-alarm  the disk-free limit back to RabbitMQ's default (50 MB).
#
# Environment overrides: RABBITMQ_HOST, RABBITMQ_PORT, POSTGRES_HOST,
# POSTGRES_PORT, SERVICES_WAIT_SECONDS (default 60). A host other than
# 127.0.0.1/localhost/::1 is only waited for, never installed or started.
set -euo pipefail

RABBITMQ_HOST="${RABBITMQ_HOST:-127.0.0.1}"
RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
POSTGRES_HOST="${POSTGRES_HOST:-127.0.0.1}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-60}"
DATABASES=(cases_test initiatives meetings letters_of_intent evaluations audit)
HBA_MARKER="# added by infra/local-services.sh"

log() { printf '[local-services] %s\n' "$*"; }
die() { printf '[local-services] ERROR: %s\n' "$*" >&2; exit 1; }

is_local() {
    case "$1" in
        127.0.0.1 | localhost | ::1) return 0 ;;
        *) return 1 ;;
    esac
}

# True if a TCP connection to host:port succeeds (bash /dev/tcp, 2 s cap).
port_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the child bash, on purpose
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

pg_ready() {
    pg_isready -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -t 2 >/dev/null 2>&1
}

# Prefix for commands that need root: empty when root, sudo if available.
SUDO=()
need_root() {
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "$1 needs root, and this is neither root nor has sudo. Run as root, or start the service yourself."
    fi
}

APT_UPDATED=0
apt_install() {
    need_root "installing $*"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* yourself."
    if [[ $APT_UPDATED -eq 0 ]]; then
        "${SUDO[@]}" apt-get update -qq
        APT_UPDATED=1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# wait_until <description> <command...>: retry once a second, bounded.
wait_until() {
    local what="$1"; shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            die "timed out after ${WAIT_SECONDS}s waiting for $what"
        fi
        sleep 1
    done
}

# ----------------------------------------------------------------- RabbitMQ --

rabbit_port_open() { port_open "$RABBITMQ_HOST" "$RABBITMQ_PORT"; }

rabbitmqctl_cmd() {
    command -v rabbitmqctl >/dev/null 2>&1 || die "rabbitmqctl not found"
    "${SUDO[@]}" rabbitmqctl "$@"
}

ensure_rabbitmq() {
    if rabbit_port_open; then
        log "rabbitmq: already running on $RABBITMQ_HOST:$RABBITMQ_PORT"
        return
    fi
    if ! is_local "$RABBITMQ_HOST"; then
        log "rabbitmq: remote host $RABBITMQ_HOST, waiting for port $RABBITMQ_PORT"
        wait_until "rabbitmq at $RABBITMQ_HOST:$RABBITMQ_PORT" rabbit_port_open
        log "rabbitmq: $RABBITMQ_HOST:$RABBITMQ_PORT answers"
        return
    fi

    local did=""
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        apt_install rabbitmq-server
        did="installed and "
    fi
    need_root "starting rabbitmq"
    # The node may be up with the app stopped (after stop-broker): then only
    # the AMQP listener is down, and rabbitmq-server -detached would fail.
    if "${SUDO[@]}" rabbitmqctl -q ping >/dev/null 2>&1; then
        "${SUDO[@]}" rabbitmqctl -q start_app >/dev/null
        did="${did}restarted app on running node"
    else
        "${SUDO[@]}" rabbitmq-server -detached
        did="${did}started"
    fi
    wait_until "rabbitmqctl await_startup" \
        "${SUDO[@]}" rabbitmqctl -q await_startup --timeout "$WAIT_SECONDS"
    wait_until "rabbitmq port $RABBITMQ_PORT" rabbit_port_open
    log "rabbitmq: ${did}, ready on $RABBITMQ_HOST:$RABBITMQ_PORT"
}

# --------------------------------------------------------------- PostgreSQL --

# Highest version directory under /etc/postgresql (normally exactly one).
pg_config_version() {
    local d
    d=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
    printf '%s' "$d"
}

pg_trust_localhost() {
    local hba="/etc/postgresql/$1/main/pg_hba.conf"
    [[ -f $hba ]] || die "pg_hba.conf not found at $hba"
    if grep -qF "$HBA_MARKER" "$hba"; then
        return
    fi
    # pg_hba.conf is first-match, so prepending overrides the packaged rules.
    local tmp
    tmp=$(mktemp)
    {
        echo "$HBA_MARKER"
        echo "host    all    all    127.0.0.1/32    trust"
        echo "host    all    all    ::1/128         trust"
        cat "$hba"
    } >"$tmp"
    "${SUDO[@]}" cp "$tmp" "$hba"
    rm -f "$tmp"
}

ensure_postgres() {
    if pg_ready; then
        log "postgres: already running on $POSTGRES_HOST:$POSTGRES_PORT"
        return
    fi
    if ! is_local "$POSTGRES_HOST"; then
        log "postgres: remote host $POSTGRES_HOST, waiting for port $POSTGRES_PORT"
        command -v pg_isready >/dev/null 2>&1 || die "pg_isready not found (install postgresql-client)"
        wait_until "postgres at $POSTGRES_HOST:$POSTGRES_PORT" pg_ready
        log "postgres: $POSTGRES_HOST:$POSTGRES_PORT is ready"
        return
    fi

    local did="" fresh=0
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql
        did="installed, "
        fresh=1
    fi
    need_root "starting postgres"

    local ver
    ver=$(pg_config_version)
    if [[ -z $ver || ! -d /etc/postgresql/$ver/main ]]; then
        if [[ -z $ver ]]; then
            ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
            [[ -n $ver ]] || die "no PostgreSQL server found under /usr/lib/postgresql"
        fi
        "${SUDO[@]}" pg_createcluster --port "$POSTGRES_PORT" "$ver" main >/dev/null
        did="${did}created cluster $ver/main, "
        fresh=1
    fi
    if ((fresh)); then
        pg_trust_localhost "$ver"
        did="${did}set localhost trust auth, "
    fi

    if "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main status >/dev/null 2>&1; then
        # Running but not answering (e.g. after the pg_hba edit): reload.
        "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
        did="${did}reloaded $ver/main"
    else
        "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main start
        did="${did}started $ver/main"
    fi
    command -v pg_isready >/dev/null 2>&1 || die "pg_isready not found"
    wait_until "postgres at $POSTGRES_HOST:$POSTGRES_PORT" pg_ready
    log "postgres: ${did}, ready on $POSTGRES_HOST:$POSTGRES_PORT"
}

ensure_databases() {
    local psql=(psql -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U postgres -d postgres
        -v ON_ERROR_STOP=1 -X -q -tA)
    local db created=() existing
    existing=$("${psql[@]}" -c "SELECT datname FROM pg_database") ||
        die "cannot connect as postgres to $POSTGRES_HOST:$POSTGRES_PORT (is trust auth configured?)"
    for db in "${DATABASES[@]}"; do
        if ! grep -qxF "$db" <<<"$existing"; then
            "${psql[@]}" -c "CREATE DATABASE \"$db\" OWNER postgres"
            created+=("$db")
        fi
    done
    if ((${#created[@]})); then
        log "databases: created ${created[*]}"
    else
        log "databases: ${DATABASES[*]} already exist"
    fi
}

# ----------------------------------------------------------------- Chromium --

# The browser tests drive Debian's chromium with Playwright (no browser download);
# CHROMIUM (default /usr/bin/chromium) names another build.
ensure_chromium() {
    local chromium="${CHROMIUM:-/usr/bin/chromium}"
    if [[ -x "$chromium" ]]; then
        log "chromium: $("$chromium" --version 2>/dev/null || echo "$chromium")"
        return
    fi
    [[ -z "${CHROMIUM:-}" ]] || die "CHROMIUM=$chromium is not an executable"
    apt_install chromium
    log "chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
}

# ---------------------------------------------------------------------- Node --

# The tests validate the AsyncAPI documents with the AsyncAPI parser, an npm package (make node-modules),
# whose locked dependencies need Node.js 20 or later.
ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
    local major
    major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
    (( major >= 20 )) || die "Node.js $(node --version) is too old for the AsyncAPI parser: 20 or later is needed"
    log "node: $(node --version), npm $(npm --version)"
}

# --------------------------------------------------------------------- Fonts --

# The minutes as PDF embed DejaVu Sans (shared/pdf.py); PDF_FONT_DIR names another directory.
ensure_fonts() {
    local dir="${PDF_FONT_DIR:-/usr/share/fonts/truetype/dejavu}"
    if [[ -f "$dir/DejaVuSans.ttf" && -f "$dir/DejaVuSans-Bold.ttf" ]]; then
        log "fonts: DejaVu Sans in $dir"
        return
    fi
    [[ -z "${PDF_FONT_DIR:-}" ]] || die "PDF_FONT_DIR=$dir has no DejaVuSans.ttf and DejaVuSans-Bold.ttf"
    apt_install fonts-dejavu-core
    log "fonts: installed fonts-dejavu-core"
}

# ------------------------------------------------------------------ commands --

# A resource alarm makes RabbitMQ block every publisher: the suite's events would wait in the outboxes.
# The fault tests' own alarm (raise-broker-alarm), left behind by an interrupted run, is cleared.
report_broker_alarms() {
    is_local "$RABBITMQ_HOST" || return 0
    command -v rabbitmq-diagnostics >/dev/null 2>&1 || return 0
    if "${SUDO[@]}" rabbitmq-diagnostics -q status 2>/dev/null | grep -q "disk space watermark: 1.0e6 gb"; then
        cmd_broker_alarm 50000000
    fi
    if ! "${SUDO[@]}" rabbitmq-diagnostics -q check_alarms >/dev/null 2>&1; then
        log "rabbitmq: WARNING, a resource alarm blocks publishing: $("${SUDO[@]}" rabbitmq-diagnostics -q alarms 2>&1 | tr '\n' ' ')"
        df -h / 2>/dev/null | sed 's/^/[local-services]   /'
    fi
}

cmd_ensure() {
    ensure_rabbitmq
    report_broker_alarms
    ensure_postgres
    ensure_databases
    ensure_chromium
    ensure_node
    ensure_fonts
}

cmd_status() {
    local rc=0
    if rabbit_port_open; then
        log "rabbitmq: up on $RABBITMQ_HOST:$RABBITMQ_PORT"
    else
        log "rabbitmq: DOWN on $RABBITMQ_HOST:$RABBITMQ_PORT"
        rc=1
    fi
    if pg_ready; then
        log "postgres: up on $POSTGRES_HOST:$POSTGRES_PORT"
    else
        log "postgres: DOWN on $POSTGRES_HOST:$POSTGRES_PORT"
        rc=1
    fi
    return "$rc"
}

cmd_stop_broker() {
    is_local "$RABBITMQ_HOST" || die "stop-broker only works on a local broker"
    need_root "stopping rabbitmq"
    rabbitmqctl_cmd -q stop_app >/dev/null
    log "rabbitmq: app stopped (node still running)"
}

cmd_start_broker() {
    is_local "$RABBITMQ_HOST" || die "start-broker only works on a local broker"
    need_root "starting rabbitmq"
    rabbitmqctl_cmd -q start_app >/dev/null
    rabbitmqctl_cmd -q await_startup --timeout "$WAIT_SECONDS" >/dev/null
    wait_until "rabbitmq port $RABBITMQ_PORT" rabbit_port_open
    log "rabbitmq: app started on $RABBITMQ_HOST:$RABBITMQ_PORT"
}

# RabbitMQ checks the free disk at once when the limit is set: the alarm is on (or off) on return.
cmd_broker_alarm() {
    is_local "$RABBITMQ_HOST" || die "broker alarms only work on a local broker"
    need_root "setting rabbitmq's disk-free limit"
    rabbitmqctl_cmd -q set_disk_free_limit "$1" >/dev/null
    log "rabbitmq: disk-free limit $1"
}

cmd_stop_postgres() {
    is_local "$POSTGRES_HOST" || die "stop-postgres only works on a local server"
    need_root "stopping postgres"
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$(pg_config_version)" main stop -m fast
    log "postgres: stopped"
}

cmd_start_postgres() {
    is_local "$POSTGRES_HOST" || die "start-postgres only works on a local server"
    need_root "starting postgres"
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$(pg_config_version)" main start
    wait_until "postgres at $POSTGRES_HOST:$POSTGRES_PORT" pg_ready
    log "postgres: started on $POSTGRES_HOST:$POSTGRES_PORT"
}

case "${1:-ensure}" in
    ensure) cmd_ensure ;;
    status) cmd_status ;;
    stop-broker) cmd_stop_broker ;;
    start-broker) cmd_start_broker ;;
    stop-postgres) cmd_stop_postgres ;;
    start-postgres) cmd_start_postgres ;;
    node) ensure_node ;;
    raise-broker-alarm) cmd_broker_alarm 1000000000000000 ;;
    clear-broker-alarm) cmd_broker_alarm 50000000 ;;
    -h | --help | help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (use ensure, status, node, stop-broker, start-broker, stop-postgres, start-postgres, raise-broker-alarm, clear-broker-alarm)" ;;
esac
