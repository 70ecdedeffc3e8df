#!/usr/bin/env bash
# Install everything the tests need, lint (ruff) and type-check (mypy), then run the whole suite
# (unit, reference, AppTest, browser).
# Browser tests need Debian's chromium: installed here with apt-get when running as root; elsewhere
# install `chromium fonts-noto-cjk` yourself or the browser tests are skipped (CI requires them).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
