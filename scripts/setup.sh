#!/usr/bin/env bash
# Install everything the hotline needs on a Debian 12 machine, as root. Safe to repeat:
# what is already there is kept (apt is only asked when a package is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv       # the hotline itself
  mmdebstrap                 # builds the sandboxed Asterisk when none is installed
  sip-tester                 # SIPp: test callers, seats and judges
  ffmpeg sox espeak-ng       # prompts and recordings
  tzdata ca-certificates
  chromium                   # the browser tests of the web console (through Playwright)
  fonts-wqy-microhei         # a CJK font: the console's Chinese in that browser, and the one
                             # the monthly report's PDF embeds
  libpango-1.0-0 libpangoft2-1.0-0  # WeasyPrint's text layout (the monthly report's PDF)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# Node.js and npm run the SMS tests' SMSC (tests/smsc); a machine that has them keeps its own.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing nodejs npm"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi

# The console's browser assets from npm (agent_console/package.json and its lock): Apache
# ECharts for the charts, Pico CSS as the base of the console's look; copied where the console
# serves its own static files. Nothing is loaded from a CDN: court intranets have no internet.
vendor=agent_console/static/vendor
vendored=("$vendor/echarts.min.js" "$vendor/pico.min.css")
for file in "${vendored[@]}"; do
  if [ ! -e "$file" ] || [ agent_console/package-lock.json -nt "$file" ]; then
    npm ci --prefix agent_console --no-audit --no-fund --silent
    install -m 0644 agent_console/node_modules/echarts/dist/echarts.min.js \
      agent_console/node_modules/@picocss/pico/css/pico.min.css "$vendor/"
    break
  fi
done

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -e "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

.venv/bin/hotline pbx setup
.venv/bin/hotline db upgrade
