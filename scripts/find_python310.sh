#!/usr/bin/env bash
# Print the path of a working Python 3.10 interpreter, or fail with a clear message.
# pyenv's shim named python3.10 exists even when 3.10 is not the selected version
# and then fails when run, so every candidate is actually executed.
set -u
candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
candidates+=(python3.10)
if command -v pyenv >/dev/null 2>&1; then
  for p in "$(pyenv root)"/versions/3.10*/bin/python3.10; do candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
  candidates+=("$p")
done
for c in "${candidates[@]}"; do
  if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
    command -v "$c" 2>/dev/null || echo "$c"
    exit 0
  fi
done
echo "error: Python 3.10 not found (Rasa 3.6 needs 3.8-3.10)." >&2
echo "Install it (e.g. 'pyenv install 3.10' or your OS package) or set PYTHON310=/path/to/python3.10." >&2
exit 1
