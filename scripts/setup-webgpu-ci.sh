#!/usr/bin/env bash
# Give this machine a WebGPU adapter for Dawn (the `webgpu` npm package): Mesa's lavapipe, a
# Vulkan driver that runs on the CPU. Debian bookworm's own Mesa (22.3) is too old for Dawn, so
# lavapipe comes from bookworm-backports. The backports source is made by copying the machine's
# existing Debian source entry and changing its suite, so no mirror host name lives in this repo.
#
# Run as root. Idempotent: a second run changes nothing that is already in place.
# Afterwards export XDG_RUNTIME_DIR as printed (the script cannot set it in the caller's shell).
set -euo pipefail

SUITE=bookworm-backports
SRC_DIR=/etc/apt/sources.list.d
NEW_DEB822="$SRC_DIR/gradreg-backports.sources"
NEW_LIST="$SRC_DIR/gradreg-backports.list"

log() { echo "setup-webgpu-ci: $*"; }
die() { echo "setup-webgpu-ci: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it edits apt sources and installs packages)"

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  log "this is ${PRETTY_NAME:-an unknown system}, not Debian bookworm: not adding $SUITE; installing the distribution's own packages"
  SUITE=""
fi

has_backports() {
  grep -rqsE "(^|[[:space:]])$SUITE([[:space:]]|$)" /etc/apt/sources.list "$SRC_DIR"/*.list "$SRC_DIR"/*.sources 2>/dev/null
}

# Copy the deb822 stanza whose Suites list holds the plain release ("bookworm"), with the suite changed.
add_from_deb822() {
  local f
  for f in "$SRC_DIR"/*.sources; do
    [ -f "$f" ] || continue
    [ "$f" = "$NEW_DEB822" ] && continue
    local stanza
    stanza=$(awk -v RS= -v ORS='\n\n' '
      /(^|\n)Suites:[^\n]*[[:space:]]bookworm([[:space:]]|$)/ && /(^|\n)Types:[^\n]*deb([[:space:]]|$)/ { print; exit }' "$f")
    [ -n "$stanza" ] || continue
    printf '%s\n' "$stanza" \
      | sed -E 's/^Suites:.*/Suites: '"$SUITE"'/; s/^Types:.*/Types: deb/' \
      | grep -v '^#' > "$NEW_DEB822.tmp"
    mv "$NEW_DEB822.tmp" "$NEW_DEB822"
    log "added $NEW_DEB822 (copied from $f, suite $SUITE)"
    return 0
  done
  return 1
}

# Classic one-line format: copy the first "deb <uri> bookworm <components>" line.
add_from_list() {
  local f line
  for f in /etc/apt/sources.list "$SRC_DIR"/*.list; do
    [ -f "$f" ] || continue
    [ "$f" = "$NEW_LIST" ] && continue
    line=$(grep -E '^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+bookworm[[:space:]]' "$f" | head -n1 || true)
    [ -n "$line" ] || continue
    printf '%s\n' "$line" | sed -E 's/^([[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+)bookworm([[:space:]])/\1'"$SUITE"'\3/' > "$NEW_LIST"
    log "added $NEW_LIST (copied from $f, suite $SUITE)"
    return 0
  done
  return 1
}

export DEBIAN_FRONTEND=noninteractive
if [ -n "$SUITE" ]; then
  if has_backports; then
    log "an apt source for $SUITE exists already"
  else
    add_from_deb822 || add_from_list || die "found no Debian 'bookworm' entry in /etc/apt/sources.list or $SRC_DIR to copy"
  fi
fi

apt-get update -qq
# Dawn's Vulkan backend: the loader (libvulkan1) and lavapipe (mesa-vulkan-drivers, Mesa >= 23).
# Lavapipe needs nothing else at run time; X11/Wayland libraries are pulled by the package itself.
if [ -n "$SUITE" ]; then
  apt-get install -y -qq --no-install-recommends -t "$SUITE" mesa-vulkan-drivers libvulkan1
else
  apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1
fi

ver=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo none)
major=${ver%%.*}; major=${major#*:}
case "$major" in
  ''|*[!0-9]*) die "mesa-vulkan-drivers is not installed (version '$ver')" ;;
esac
[ "$major" -ge 23 ] || die "mesa-vulkan-drivers $ver is older than Mesa 23, which Dawn needs"
log "mesa-vulkan-drivers $ver installed"

# Dawn (through the Vulkan WSI layers of the loader) wants a runtime directory; CI shells often lack one.
RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$RUNTIME_DIR"
chmod 700 "$RUNTIME_DIR"
log "XDG_RUNTIME_DIR=$RUNTIME_DIR (export it before running node)"
