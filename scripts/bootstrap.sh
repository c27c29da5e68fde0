#!/usr/bin/env bash
# Install everything the project needs that is missing: the Python 3.10 venv with the
# project, the widget's socket.io client and the browser tests' axe-core (npm), the OCR
# engine and fonts for screenshot screening, and Chromium for the browser tests.
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

if [ ! -f widget/node_modules/socket.io-client/dist/socket.io.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> installing the widget's socket.io client from the npm registry"
    (cd widget && npm ci --no-audit --no-fund --silent)
  else
    echo "warning: npm not found; the chat widget needs widget/node_modules (npm ci in widget/)" >&2
  fi
fi

# axe-core for the browser tests' accessibility checks: a test-only package of its own
# (tests/browser/package.json), never served with the widget.
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> installing axe-core for the accessibility tests from the npm registry"
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
  else
    echo "warning: npm not found; the accessibility tests need tests/browser/node_modules" \
      "(npm ci in tests/browser/)" >&2
  fi
fi

# Screenshot screening (support_core.images): Tesseract with its Chinese and English data
# (the alternative OCR engine, IMAGE_OCR_ENGINE=tesseract), the fonts the screenshot tests
# and benchmark draw with, and the GL/GLib libraries OpenCV's wheel loads.
image_packages=(tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng fonts-dejavu-core
  fonts-wqy-microhei fonts-noto-cjk libgl1 libglib2.0-0)
missing_images=()
for package in "${image_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing_images+=("$package")
done
if [ "${#missing_images[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian packages for screenshot screening: ${missing_images[*]}"
    # Waits for another apt run (a second bootstrap) instead of failing on its lock.
    apt-get update -qq -o DPkg::Lock::Timeout=300 && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing_images[@]}" >/dev/null
  else
    echo "warning: missing ${missing_images[*]}; screenshot tests and IMAGE_OCR_ENGINE=tesseract" \
      "will fail" >&2
    echo "         install them with: sudo apt-get install ${missing_images[*]}" >&2
  fi
fi

# The production topology on one machine (make run-production, tests/production): nginx as
# the load balancer, run in the foreground by supervisord; Debian's own nginx service is not
# started (policy-rc.d refuses it for the length of the install).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's nginx for the production topology"
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
      policy=yes
    fi
    apt-get update -qq -o DPkg::Lock::Timeout=300 && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq -o DPkg::Lock::Timeout=300 nginx >/dev/null || true
    [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
  else
    echo "warning: nginx not found; make run-production and tests/production need it" >&2
    echo "         install it with: sudo apt-get install nginx" >&2
  fi
fi

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's Chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: no Chromium at ${CHROMIUM:-/usr/bin/chromium}; browser tests will fail" >&2
    echo "         install it with: sudo apt-get install chromium" >&2
  fi
fi
