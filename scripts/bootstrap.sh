#!/usr/bin/env bash
# Create .venv with Python 3.10 when missing (or broken) and install the project into it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
  py=$(scripts/find_python310.sh)
  echo "==> creating .venv with $py"
  rm -rf .venv
  "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip wheel setuptools
fi
echo "==> installing the project and its pinned dependencies into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
