#!/usr/bin/env bash
# Runs every test of the crate, installing first what the tests need:
# Prosody, ejabberd and ngircd, an IRC server for gateway tests (Debian's
# packages, for the interop tests; their system services are kept from
# starting, the tests run their own instances) and a Python
# virtual environment with the independent implementations the interop
# tests talk to (scramp for SCRAM). Safe to run again: what is already
# there is kept.
#
#   ./tests/all.sh
#
# With CI=true, interop tests fail (instead of skipping) when a peer is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prosody >/dev/null && command -v prosodyctl >/dev/null ||
    missing+=(prosody lua-unbound lua-sec)
command -v ejabberdctl >/dev/null || missing+=(ejabberd)
# ngircd is in /usr/sbin, on root's PATH only.
command -v ngircd >/dev/null || [ -x /usr/sbin/ngircd ] || missing+=(ngircd)
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    # Keep the packages' own services from starting.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
        $sudo_cmd chmod +x /usr/sbin/policy-rc.d
    fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv=target/interop-venv
py_packages=(scramp==1.5.0 slixmpp==1.17.0)

if ! "$venv/bin/python" -c 'import scramp, slixmpp' 2>/dev/null; then
    echo "== setting up $venv (${py_packages[*]})"
    mkdir -p target
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${py_packages[@]}"
fi
export XMPP_SANSIO_PYTHON="$PWD/$venv/bin/python"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo test (library, integration and interop tests, examples, doc tests, fuzz corpora)"
status=0
cargo test --all-features --no-fail-fast --color never 2>&1 | tee "$log" || status=$?

echo "== benchmarks compile"
cargo bench --no-run --quiet 2>&1 | tail -n 3 || status=$?

passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "all tests: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
    exit 1
fi
