#!/usr/bin/env bash
# The whole offline install, end to end (make test-offline; minutes, so not in make test):
# the full bundle built here, a minimal Debian 12 made with mmdebstrap to stand for a court's
# fresh server, and inside it, in a network namespace that has only loopback, the hotline
# installed from the bundle alone (scripts/setup.sh --offline) and started: `hotline status`
# must say every part is healthy. Needs root and the package mirrors (for the bundle and the
# minimal Debian). Times and sizes are printed; docs/operations.md keeps the last ones.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${HOTLINE_OFFLINE_TEST_DIR:-/var/tmp/hotline-test-offline}
root=$work/debian12
ns=bundle-off-full

# Everything this test started runs inside $root: ended by that, never by name.
stop_inside() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    case "$(readlink "/proc/$pid/root" 2>/dev/null)" in
      "$root"|"$root"/*) kill -9 "$pid" 2>/dev/null || true ;;
    esac
  done
}
cleanup() {
  if [ -x "$root/opt/hotline/.venv/bin/hotline" ]; then
    ip netns exec "$ns" chroot "$root" sh -c 'cd /opt/hotline && .venv/bin/hotline down' \
      >/dev/null 2>&1 || true
  fi
  stop_inside
  umount "$root/dev/pts" "$root/dev" "$root/proc" 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  # Kept when the test failed, to look into; 2 GB otherwise.
  if [ -n "${passed:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

rm -rf "$work"
mkdir -p "$work"
SECONDS=0
.venv/bin/hotline bundle "$work/hotline-bundle.tar"
echo "test-offline: bundle built in ${SECONDS} s, $(du -h "$work/hotline-bundle.tar" | cut -f1)"

SECONDS=0
mmdebstrap --quiet --variant=minbase bookworm "$root"
echo "test-offline: a minimal Debian 12 in ${SECONDS} s"
mkdir -p "$root/opt/hotline"
git ls-files -z --cached --others --exclude-standard \
  | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C "$root/opt/hotline"
rm -f "$root"/opt/hotline/agent_console/static/vendor/*.*
cp "$work/hotline-bundle.tar" "$root/root/"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

ip netns add "$ns"
ip -n "$ns" link set lo up
inside() { ip netns exec "$ns" chroot "$root" bash -c "cd /opt/hotline && $1"; }
if inside 'timeout 5 bash -c "</dev/tcp/1.1.1.1/443"' 2>/dev/null; then
  echo "test-offline: the namespace reaches the network" >&2
  exit 1
fi

SECONDS=0
inside 'bash scripts/setup.sh --offline /root/hotline-bundle.tar'
echo "test-offline: offline install in ${SECONDS} s"
SECONDS=0
inside '.venv/bin/hotline up && .venv/bin/hotline status'
echo "test-offline: hotline up and healthy in ${SECONDS} s, with no network"
passed=1
