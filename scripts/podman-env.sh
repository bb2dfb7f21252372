# Sourced by the scripts that run Podman: a private configuration and storage under
# ~/.cache/flotilla/podman (FLOTILLA_PODMAN_DIR names another, e.g. the kind cluster's own), so that
# the machine's own Podman settings are neither needed nor changed.
# On this kind of machine root lacks CAP_SYS_RESOURCE (Podman's default nofile ulimit fails) and
# there is no systemd (cgroupfs, events in a file).
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/flotilla
podman_dir=${FLOTILLA_PODMAN_DIR:-$cache_root/podman}
mkdir -p "$podman_dir/tmp"
cat >"$podman_dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
# No network of its own: builds use the host's (--network=host), test runs none; so no netavark rules.
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$podman_dir/events.log"
[network]
network_config_dir = "$podman_dir/networks"
CONF
cat >"$podman_dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$podman_dir/storage"
runroot = "/run/flotilla-$(basename "$podman_dir")"
CONF
export CONTAINERS_CONF=$podman_dir/containers.conf CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf TMPDIR=$podman_dir/tmp

started=${started:-$(date +%s)}
step() { printf '[image %4ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
fail() { echo "image: $*" >&2; exit 1; }

require_root_and_podman() {
  [ "$(id -u)" = 0 ] || fail "building and running images here needs root (rootless Podman is not set up by this tool)"
  command -v podman >/dev/null || fail "Podman is missing: apt-get install podman"
}

# Podman leaves empty cgroups behind (libpod_parent/conmon in each hierarchy) after a run or build:
# removed when empty, so that nothing of a test run stays on the machine.
remove_empty_podman_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/libpod_parent; do
    [ -d "$dir" ] || continue
    rmdir "$dir/conmon" 2>/dev/null || true
    rmdir "$dir" 2>/dev/null || true
  done
}

# Debian's root filesystem as a tarball (debootstrap --variant=minbase, cached): the base of every
# image made here when no registry answers. Prints the tarball's path.
debian_suite=bookworm
debian_mirror=${FLOTILLA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debian_rootfs_tarball() {
  local rootfs_dir="$cache_root/image-base-debian-$debian_suite"
  local rootfs="$rootfs_dir/rootfs.tar"
  if [ -f "$rootfs" ]; then
    step "base: debootstrap tarball cached ($rootfs)"
  else
    command -v debootstrap >/dev/null || fail "making the base image needs debootstrap (apt-get install debootstrap)"
    step "base: debootstrap --variant=minbase $debian_suite from $debian_mirror (1-4 minutes)"
    local tmp
    tmp=$(mktemp -d /var/tmp/flotilla-debootstrap.XXXXXX)
    debootstrap --variant=minbase "$debian_suite" "$tmp/rootfs" "$debian_mirror" >"$tmp/debootstrap.log" 2>&1 ||
      { tail -20 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; fail "debootstrap failed; its log is above"; }
    rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
    mkdir -p "$rootfs_dir"
    tar -C "$tmp/rootfs" --numeric-owner -cf "$rootfs.tmp" .
    mv "$rootfs.tmp" "$rootfs"
    rm -rf "$tmp"
    step "base: debootstrap done; tarball cached in $rootfs"
  fi
  echo "$rootfs"
}
