#!/usr/bin/env bash
# Install missing system packages with apt-get (`make system-deps`; .ci/run calls it).
#
#   tools/system_deps.sh PACKAGE:COMMAND [PACKAGE:COMMAND ...]
#
# A package counts as present when COMMAND is an existing path or a command on PATH. Nothing
# missing: says so. Missing, with apt-get and root (or password-less sudo): installs them,
# refreshing the package lists once if the first attempt fails; a failed install is an error.
# Missing without apt-get, or without root and sudo: prints what to install by hand and exits 0
# (the tests that need them then skip, naming the package).
set -uo pipefail

missing=()
for spec in "$@"; do
    pkg=${spec%%:*}
    cmd=${spec#*:}
    if [[ -e "$cmd" ]] || command -v "$cmd" >/dev/null 2>&1; then
        continue
    fi
    missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system-deps: all present (${*})"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: skipped: missing ${missing[*]}, and apt-get is not available here." \
         "Install them with your system's package manager (bubblewrap exists on Linux only);" \
         "the tests that need them are skipped."
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "system-deps: skipped: missing ${missing[*]}; installing needs root or password-less" \
         "sudo. Run: sudo apt-get install ${missing[*]}"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# `timeout` bounds each apt-get call: a mirror that stops answering fails the step, never hangs it.
apt() { timeout 1200 "${sudo[@]}" apt-get -q "$@"; }

echo "system-deps: installing ${missing[*]} with apt-get"
if ! apt install -y "${missing[@]}"; then
    echo "system-deps: refreshing the package lists and retrying"
    apt update && apt install -y "${missing[@]}" || {
        echo "system-deps: apt-get could not install ${missing[*]}" >&2
        exit 1
    }
fi
echo "system-deps: installed ${missing[*]}"
