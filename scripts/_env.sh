# Shared by scripts/quickstart and scripts/test: a project virtualenv with kubescim installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KUBESCIM_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

step() { printf '==> %s\n' "$*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        step "creating virtualenv $VENV"
        "$PY" -m venv "$VENV"
    fi
    # pip >= 25.1 understands dependency groups (PEP 735).
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
}

install_project() {
    step "installing kubescim${1:+ with groups: $1}"
    local args=(--quiet --disable-pip-version-check -e "$ROOT[postgres,kubernetes,operator]")
    for group in ${1:-}; do args+=(--group "$ROOT/pyproject.toml:$group"); done
    "$VENV/bin/python" -m pip install "${args[@]}"
}
