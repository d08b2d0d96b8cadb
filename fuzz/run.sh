#!/usr/bin/env bash
# Fuzzes the crate: installs cargo-fuzz when it is missing, then runs each
# target (all of them, or those named) for SECONDS seconds, starting from
# its seed corpus under fuzz/corpus/TARGET. Crashes land in
# fuzz/artifacts/TARGET; the script exits non-zero if any target failed.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      (default: 60 seconds each)
#
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")"

seconds=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi

if ! cargo fuzz --help >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

failed=()
for target in "${targets[@]}"; do
    echo "== $target for ${seconds}s"
    mkdir -p "corpus/$target"
    if ! cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds"; then
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "failed: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds}s without a failure"
