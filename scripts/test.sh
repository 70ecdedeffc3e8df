#!/usr/bin/env bash
# Install everything the tests need, lint (ruff) and type-check (mypy), then run the whole suite
# (unit, reference, AppTest, browser).
# Browser tests need Debian's chromium, and the campaign store's tests a PostgreSQL server's binaries
# (tests/pg.py starts a throwaway one): both are installed here with apt-get when running as root;
# elsewhere install `chromium fonts-noto-cjk postgresql` yourself or those tests are skipped (CI requires them).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium fonts-noto-cjk)
command -v pg_ctl >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || packages+=(postgresql)
if [ ${#packages[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
