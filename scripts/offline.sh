# The offline install's steps, sourced by scripts/setup.sh --offline BUNDLE.tar: every
# source is the bundle `hotline bundle` built (cli/bundle.py writes the layout read here);
# nothing is fetched. A part the bundle lacks is only asked for when this machine needs it.

offline_die() { echo "setup: $*" >&2; exit 1; }

# Unpack the bundle into $BUNDLE_DIR (gone again when setup ends) and check it is whole and
# made for this machine.
offline_open() {
  BUNDLE_DIR=$(mktemp -d /var/tmp/hotline-bundle.XXXXXX)
  trap 'rm -rf "$BUNDLE_DIR"' EXIT
  echo "setup: unpacking $1"
  tar -xf "$1" -C "$BUNDLE_DIR" --strip-components=1 || offline_die "$1 cannot be unpacked"
  [ -e "$BUNDLE_DIR/SHA256SUMS" ] || offline_die "$1 is not a bundle of \`hotline bundle\`"
  (cd "$BUNDLE_DIR" && sha256sum --check --quiet --strict SHA256SUMS) \
    || offline_die "$1 is damaged: the files above do not match its SHA256SUMS"
  local arch debian
  arch=$(offline_target arch) debian=$(offline_target debian)
  [ "$arch" = "$(dpkg --print-architecture)" ] \
    || offline_die "$1 was built for $arch, this machine is $(dpkg --print-architecture)"
  [ "$debian" = "$(cut -d. -f1 /etc/debian_version)" ] \
    || offline_die "$1 was built for Debian $debian, this is Debian $(cat /etc/debian_version)"
}

# One line of the bundle's TARGET file (key=value): what it was built for.
offline_target() { sed -n "s/^$1=//p" "$BUNDLE_DIR/TARGET"; }

# apt-get install from the bundle's packages alone: a local repository with its own lists,
# so the machine's sources and package lists are left as they are.
offline_apt_install() {
  local debs=$BUNDLE_DIR/debs state=$BUNDLE_DIR/apt
  [ -e "$debs/Packages" ] || offline_die "the bundle has no Debian packages; missing here: $*"
  mkdir -p "$state/lists/partial" "$state/parts"
  echo "deb [trusted=yes] file:$debs ./" >"$state/sources.list"
  # apt runs as root here: its own user could not write the lists in a folder of root's.
  local opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/parts"
              -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::pkgcache="
              -o "Dir::Cache::srcpkgcache=" -o "APT::Get::List-Cleanup=0"
              -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" -q update
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -q --no-install-recommends "$@"
}

# The console's assets: the bundle's copies, or those already here.
offline_console_assets() {
  local vendor=$1 file
  shift
  if [ -d "$BUNDLE_DIR/console" ]; then
    install -m 0644 "$BUNDLE_DIR"/console/* "$vendor/"
    return
  fi
  for file in "$@"; do
    [ -e "$file" ] || offline_die "the bundle has no console assets and $file is missing"
  done
}

# From here on pip reads only the bundle's wheels: no index, no pip.conf, no PIP_* of the
# environment.
offline_pip() {
  [ -d "$BUNDLE_DIR/wheels" ] || offline_die "the bundle has no Python wheels"
  local want have
  want=$(offline_target python)
  have=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$want" = "$have" ] || offline_die "the bundle's wheels are for Python $want, not $have"
  local name
  for name in ${!PIP_@}; do unset "$name"; done
  export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_FIND_LINKS=$BUNDLE_DIR/wheels
}

# The sandboxed Asterisk unpacked where the settings want it (pbx.instance_for), unless a
# working one is there or an installed Asterisk is used ($1 empty).
offline_sandbox() {
  local root=$1
  [ -n "$root" ] || return 0
  chroot "$root" /usr/sbin/asterisk -V >/dev/null 2>&1 && return 0
  [ -e "$BUNDLE_DIR/sandbox.tar.gz" ] || offline_die "the bundle has no Asterisk sandbox"
  echo "setup: unpacking the sandboxed Asterisk into $root"
  rm -rf "$root.building"
  mkdir -p "$root.building"
  tar -xzf "$BUNDLE_DIR/sandbox.tar.gz" -C "$root.building" --numeric-owner
  rm -rf "$root"
  mv "$root.building" "$root"
}
