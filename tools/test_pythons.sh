#!/usr/bin/env bash
# `make test-pythons`: the unit tests on every Python from 3.10 to 3.13 this machine has, each in a
# torch-free virtual environment of its own (.venv-py/3.X). The main .venv (make test) is the only
# one with torch: on the others every torch test skips with its reason, as on a laptop without it.
# An interpreter is looked up with pyenv, then as python3.X on PATH, then with `uv python find`;
# the ones not found are named at the end (and do not fail the run). Exit status: non-zero when the
# tests failed on any interpreter that was found.
set -uo pipefail
cd "$(dirname "$0")/.."
# 3.11 is the main .venv's Python: `make test` runs the unit tests there, with torch.
VERSIONS=${PYTHON_VERSIONS:-"3.10 3.12 3.13"}
found=() missing=() failed=()

find_python() {
    local v=$1 p
    if command -v pyenv >/dev/null 2>&1; then
        p=$(pyenv root 2>/dev/null)/versions
        for d in $(ls -d "$p"/"$v".* 2>/dev/null | sort -V -r); do
            [ -x "$d/bin/python$v" ] && { echo "$d/bin/python$v"; return 0; }
        done
    fi
    for d in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".* 2>/dev/null | sort -V -r); do
        [ -x "$d/bin/python$v" ] && { echo "$d/bin/python$v"; return 0; }
    done
    command -v "python$v" 2>/dev/null && return 0
    command -v uv >/dev/null 2>&1 && uv python find "$v" 2>/dev/null && return 0
    return 1
}

for v in $VERSIONS; do
    py=$(find_python "$v") || { missing+=("$v"); continue; }
    found+=("$v")
    venv=.venv-py/$v
    stamp=$venv/.installed-$(cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
    if [ ! -e "$stamp" ]; then
        rm -rf "$venv" && "$py" -m venv "$venv" || { failed+=("$v (venv)"); continue; }
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        # No torch and no browser driver: the grader, the builder, the site tools and pytest.
        if ! "$venv/bin/python" -m pip install --quiet -c constraints.txt -e '.[lab,grade,site]' \
                'nbval>=0.11' 'pytest>=8' 'pytest-xdist>=3.5' 'setuptools>=77' wheel; then
            failed+=("$v (install)"); continue
        fi
        touch "$stamp"
    fi
    echo "== Python $v ($("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])'), no torch): unit tests"
    log=$venv/pytest.log
    MPLBACKEND=Agg "$venv/bin/python" -m pytest tests -q -n 2 --dist loadfile -p no:cacheprovider \
        -rs --tb=short -m "not machine_load" >"$log" 2>&1
    rc=$?
    MPLBACKEND=Agg "$venv/bin/python" -m pytest tests -q -p no:cacheprovider -rs --tb=short \
        -m machine_load >>"$log" 2>&1 || rc=1
    # The skip reasons (torch missing, ...), then the closing line of each of the two runs.
    grep -E "^SKIPPED" "$log" | sort | uniq -c | sort -rn | head -n 20
    grep -E "^=* ?[0-9]+ (passed|failed|error)" "$log"
    [ $rc = 0 ] || { failed+=("$v"); grep -E "^(FAILED|ERROR)" "$log" | head -n 40; }
done
echo "test-pythons: ran on ${found[*]:-none}; not found here: ${missing[*]:-none}"
if [ ${#failed[@]} -gt 0 ]; then echo "test-pythons: FAILED on ${failed[*]}"; exit 1; fi
