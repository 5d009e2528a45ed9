#!/usr/bin/env bash
# Install what the hotline needs on a Debian 12 machine, as root. Safe to repeat: what is
# already there is kept (apt is only asked when a package is missing).
#
#   scripts/setup.sh                    what the hotline needs to run (make run, make setup)
#   scripts/setup.sh --test             that and what the tests need (make test)
#   scripts/setup.sh --offline B.tar    what it needs to run, from a bundle that
#                                       `hotline bundle B.tar` built, with no network at all
set -euo pipefail

mode=run
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  --offline)
    mode=offline
    if [ ! -f "${2:-}" ]; then
      echo "setup: --offline needs the bundle's file, not ${2:-nothing}" >&2
      exit 2
    fi
    bundle=$(realpath "$2")
    ;;
  *) echo "usage: scripts/setup.sh [--test | --offline BUNDLE.tar]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

if [ "$mode" = offline ]; then
  source scripts/offline.sh
  offline_open "$bundle"   # sets $BUNDLE_DIR; removed again when this script ends
fi

# The package names of scripts/packages-<kind>.txt.
packages() { sed 's/#.*//' "scripts/packages-$1.txt" | tr -s ' \t' '\n' | sed '/^$/d'; }

apt_install() {
  echo "setup: installing $*"
  if [ "$mode" = offline ]; then
    offline_apt_install "$@"
  else
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
  fi
}

# Node.js and npm fetch the console's assets and run the tests' SMSC (tests/smsc); a machine
# that has them keeps its own.
need_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
}

wanted=$(packages run)
[ "$mode" = test ] && wanted+=$'\n'$(packages test)
missing=()
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
fi

# The console's browser assets from npm (agent_console/package.json and its lock): Apache
# ECharts for the charts, Pico CSS as the base of the console's look; copied where the console
# serves its own static files. Nothing is loaded from a CDN: court intranets have no internet.
# Offline, the bundle carries the copies `npm ci` made on the machine that built it.
vendor=agent_console/static/vendor
vendored=("$vendor/echarts.min.js" "$vendor/pico.min.css")
if [ "$mode" = offline ]; then
  offline_console_assets "$vendor" "${vendored[@]}"
else
  for file in "${vendored[@]}"; do
    if [ ! -e "$file" ] || [ agent_console/package-lock.json -nt "$file" ]; then
      need_node
      npm ci --prefix agent_console --no-audit --no-fund --silent
      install -m 0644 agent_console/node_modules/echarts/dist/echarts.min.js \
        agent_console/node_modules/@picocss/pico/css/pico.min.css "$vendor/"
      break
    fi
  done
fi

# The venv: the hotline's own dependencies to run, the dev extra (pytest, ruff, mypy,
# Playwright ...) for the tests. A stamp per pyproject.toml says what is installed; the tests'
# stamp covers running too (.installed-<hash> is what set-up wrote before the split).
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
hash=$(sha1sum pyproject.toml | cut -c1-12)
if [ "$mode" = test ]; then
  extras='[dev]' stamps=(.venv/.installed-test-"$hash" .venv/.installed-"$hash")
else
  extras='' stamps=(.venv/.installed-run-"$hash" .venv/.installed-test-"$hash" .venv/.installed-"$hash")
fi
installed=
for stamp in "${stamps[@]}"; do [ -e "$stamp" ] && installed=$stamp; done
if [ -z "$installed" ]; then
  if [ "$mode" = offline ]; then offline_pip; fi   # pip reads only the bundle's wheels
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".$extras"
  rm -f .venv/.installed-*
  touch "${stamps[0]}"
fi

if [ "$mode" = test ]; then
  need_node
  # The SMS tests' SMSC (tests/smsc, Node.js) and axe-core for the console's accessibility
  # sweep (tests/browser/test_pages.py): installed from their lock files when missing or when
  # a lock file changed since.
  for dir in tests/smsc tests/browser; do
    if [ ! -e "$dir/node_modules/.package-lock.json" ] \
       || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"; then
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
      cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"
    fi
  done
fi

# Offline there is nothing to build the sandboxed Asterisk from: the bundle carries it.
if [ "$mode" = offline ]; then
  offline_sandbox "$(.venv/bin/python -c 'import pbx
from hotline.settings import load_settings
print(pbx.instance_for(load_settings()).chroot or "")')"
fi
.venv/bin/hotline pbx setup
.venv/bin/hotline db upgrade
