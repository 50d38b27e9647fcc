#!/usr/bin/env bash
# Build libcrun.so (shared) from Debian 12's `crun` source package, for nexcage's koffi bindings
# (src/backends/crun/libcrun.ts). See packaging/libcrun/README.md.
#
# Usage (as root, Debian 12):  packaging/libcrun/build.sh
# Env:
#   LIBCRUN_OUT         output dir (default: <repo>/build/libcrun)
#   CRUN_SRC_VERSION    Debian source version to build (default: pinned below)
#   LIBCRUN_KEEP_WORK=1 keep the temporary work dir (for debugging)
#   LIBCRUN_FORCE=1     rebuild even if the output matches BUILD-INFO
# Output:
#   $OUT/libcrun.so.<upstream version>, $OUT/VERSION, $OUT/BUILD-INFO
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT=${LIBCRUN_OUT:-$REPO_ROOT/build/libcrun}
CRUN_SRC_VERSION=${CRUN_SRC_VERSION:-1.8.1-1+deb12u1}
PATCH_FILE=$SCRIPT_DIR/disable-rexec-constructor.patch
SOURCES_FILE=/etc/apt/sources.list.d/nexcage-deb-src.sources
SUITE=bookworm
COMPONENT=main

# Build configuration. Everything that changes the produced library belongs in BUILD-INFO.
CONFIGURE_FLAGS=(--enable-shared --disable-static --disable-criu)
# configure links libgcrypt (seccomp BPF cache) whenever libgcrypt20-dev happens to be installed. Debian's
# crun is built without it; force it off so the result does not depend on what else is on the machine.
# PYTHON: Debian's interpreter, not whatever python3 comes first in PATH (pyenv shims, venvs).
CONFIGURE_CACHE_VARS=(ac_cv_search_gcry_check_version=no PYTHON=/usr/bin/python3)
# Same hardening as Debian's package build (DEB_BUILD_MAINT_OPTIONS=hardening=+all), written out so the
# build does not depend on dpkg-dev. @SRC@ is replaced by the (random) source dir: mapping it away keeps
# the build-id, hence the library's sha256, identical from one build to the next.
BUILD_CFLAGS="-ffile-prefix-map=@SRC@=. -g -O2 -fstack-protector-strong -fstack-clash-protection -fcf-protection -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2"
BUILD_LDFLAGS="-Wl,-z,relro -Wl,-z,now"
# python3: make regenerates libocispec's C sources from the OCI JSON schemas (libocispec/src/ocispec/generate.py).
BUILD_DEPS=(libsystemd-dev libseccomp-dev libcap-dev libyajl-dev pkg-config libtool make gcc libc6-dev
            binutils patch xz-utils tar ca-certificates python3)
# Functions nexcage binds (src/backends/crun/libcrun.ts). The build fails if one is not exported.
REQUIRED_SYMBOLS=(
  libcrun_container_load_from_file libcrun_container_free libcrun_container_create
  libcrun_container_start libcrun_container_kill libcrun_container_killall libcrun_container_delete
  libcrun_container_state libcrun_get_container_state_string libcrun_read_container_status
  libcrun_free_container_status libcrun_error_release libcrun_init_logging
)

T0=$(date +%s.%N)
PHASE_T=$T0
log() { printf '[libcrun-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }
phase_done() { log "$1 done in $(elapsed "$PHASE_T") (total $(elapsed "$T0"))"; PHASE_T=$(date +%s.%N); }

[[ $(id -u) -eq 0 ]] || die "must run as root (installs build dependencies with apt-get)"
[[ -f $PATCH_FILE ]] || die "missing $PATCH_FILE"

UPSTREAM_VERSION=${CRUN_SRC_VERSION#*:}        # strip epoch
UPSTREAM_VERSION=${UPSTREAM_VERSION%-*}        # strip Debian revision
[[ $UPSTREAM_VERSION =~ ^[0-9]+(\.[0-9]+)+$ ]] || die "cannot derive upstream version from '$CRUN_SRC_VERSION'"
LIB_NAME=libcrun.so.$UPSTREAM_VERSION
LIB_PATH=$OUT/$LIB_NAME
PATCH_SHA256=$(sha256sum "$PATCH_FILE" | cut -d' ' -f1)
ARCH=$(uname -m)

# Deterministic part of BUILD-INFO: the cache key.
build_key() {
  cat <<EOF
source_package=crun
source_version=$CRUN_SRC_VERSION
upstream_version=$UPSTREAM_VERSION
patch=$(basename "$PATCH_FILE")
patch_sha256=$PATCH_SHA256
debian_patches=applied (debian/patches/series of the source package)
configure_flags=${CONFIGURE_FLAGS[*]} ${CONFIGURE_CACHE_VARS[*]}
cflags=$BUILD_CFLAGS
ldflags=$BUILD_LDFLAGS
arch=$ARCH
EOF
}

# Checks that the library exports what nexcage binds and that loading it does NOT re-exec the process
# (the libcrun_rexec constructor must be gone).
verify_library() {
  local lib=$1 sym missing=() tmp
  command -v nm >/dev/null || die "nm not found (binutils) - cannot verify $lib"
  local exported
  exported=$(nm -D --defined-only "$lib" | awk '{print $NF}')
  for sym in "${REQUIRED_SYMBOLS[@]}"; do
    grep -qx "$sym" <<<"$exported" || missing+=("$sym")
  done
  ((${#missing[@]} == 0)) || die "$lib does not export: ${missing[*]}"
  log "nm -D: all ${#REQUIRED_SYMBOLS[@]} required symbols exported"

  # Load test. A re-exec would restart this probe from main(): "start" would be printed twice, or the
  # probe would exit before printing loaded-ok. A C probe is used (gcc is a build dep; python3 is not
  # guaranteed on a fresh machine).
  command -v gcc >/dev/null || die "gcc not found - cannot run the load test"
  tmp=$(mktemp -d)
  cat >"$tmp/probe.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
int main (int argc, char **argv)
{
  (void) argc;
  printf ("start pid=%d\n", (int) getpid ());
  fflush (stdout);
  void *h = dlopen (argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) { fprintf (stderr, "dlopen: %s\n", dlerror ()); return 2; }
  if (dlsym (h, "libcrun_container_create") == NULL) { fprintf (stderr, "dlsym failed\n"); return 3; }
  printf ("loaded-ok pid=%d\n", (int) getpid ());
  return 0;
}
EOF
  gcc -o "$tmp/probe" "$tmp/probe.c" -ldl
  local outp rc=0
  outp=$("$tmp/probe" "$lib" 2>&1) || rc=$?
  rm -rf "$tmp"
  local starts loaded
  starts=$(grep -c '^start ' <<<"$outp" || true)
  loaded=$(grep -c '^loaded-ok ' <<<"$outp" || true)
  if [[ $rc -ne 0 || $starts -ne 1 || $loaded -ne 1 ]]; then
    die "load test failed (rc=$rc): the library re-executes or cannot be loaded. Output:
$outp"
  fi
  log "load test: $(tail -n1 <<<"$outp") (no re-exec)"
}

# ---- cache ---------------------------------------------------------------------------------------
if [[ ${LIBCRUN_FORCE:-0} != 1 && -f $LIB_PATH && -f $OUT/BUILD-INFO ]]; then
  want=$(build_key)
  have=$(grep -v -e '^library_sha256=' -e '^library=' "$OUT/BUILD-INFO" || true)
  recorded_sha=$(sed -n 's/^library_sha256=//p' "$OUT/BUILD-INFO")
  actual_sha=$(sha256sum "$LIB_PATH" | cut -d' ' -f1)
  if [[ $want == "$have" && $recorded_sha == "$actual_sha" ]]; then
    log "cache hit: $LIB_PATH matches BUILD-INFO (source $CRUN_SRC_VERSION, patch $PATCH_SHA256)"
    if command -v nm >/dev/null && command -v gcc >/dev/null; then
      verify_library "$LIB_PATH"
    else
      log "nm/gcc not installed: skipping symbol and load verification of the cached library"
    fi
    log "nothing to do ($(elapsed "$T0"))"
    echo "$LIB_PATH"
    exit 0
  fi
  log "cache miss: $OUT/BUILD-INFO does not match this build; rebuilding"
fi

# ---- deb-src entry -------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
have_deb_src() {
  # shellcheck disable=SC2016 # $(...) are apt format fields, not shell expansions
  apt-get indextargets --no-release-info --format '$(IDENTIFIER) $(RELEASE) $(COMPONENT)' 2>/dev/null |
    grep -qx "Sources $SUITE $COMPONENT"
}
if have_deb_src; then
  log "deb-src for $SUITE/$COMPONENT already configured"
else
  uris="" signed_by=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    # First deb822 stanza with Types: deb and the plain suite in Suites.
    read -r uris signed_by < <(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; u = ""; s = ""; sb = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^Types:/)     { sub(/^Types:[ \t]*/, "", line); types = line }
          if (line ~ /^URIs:/)      { sub(/^URIs:[ \t]*/, "", line); u = line }
          if (line ~ /^Suites:/)    { sub(/^Suites:[ \t]*/, "", line); s = " " line " " }
          if (line ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", line); sb = line }
        }
        if ((" " types " ") ~ / deb / && index(s, " " suite " ") > 0) { print u, sb; exit }
      }' /etc/apt/sources.list.d/debian.sources) || true
  fi
  if [[ -z $uris ]]; then
    uris=http://deb.debian.org/debian
    signed_by=/usr/share/keyrings/debian-archive-keyring.gpg
    log "no 'Types: deb' stanza for $SUITE in debian.sources; using $uris"
  fi
  {
    echo "# Added by nexcage packaging/libcrun/build.sh: source packages, to build libcrun.so from crun."
    echo "Types: deb-src"
    echo "URIs: $uris"
    echo "Suites: $SUITE"
    echo "Components: $COMPONENT"
    [[ -n $signed_by ]] && echo "Signed-By: $signed_by"
  } >"$SOURCES_FILE"
  log "wrote $SOURCES_FILE (URIs: $uris)"
fi

log "apt-get update"
apt-get -o DPkg::Lock::Timeout=600 update -qq
phase_done "apt-get update"

log "installing build dependencies: ${BUILD_DEPS[*]}"
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${BUILD_DEPS[@]}" >/dev/null
phase_done "build dependencies"

# ---- fetch and unpack ----------------------------------------------------------------------------
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nexcage-libcrun.XXXXXX")
cleanup() {
  if [[ ${LIBCRUN_KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/dl"
# Let apt's sandbox user write the download dir (avoids the "unsandboxed as root" warning).
if id _apt >/dev/null 2>&1; then chmod 755 "$WORK"; chown _apt "$WORK/dl"; fi
(cd "$WORK/dl" && apt-get source -qq --download-only "crun=$CRUN_SRC_VERSION") ||
  die "apt-get source crun=$CRUN_SRC_VERSION failed (superseded on the mirror? set CRUN_SRC_VERSION; see 'apt-cache showsrc crun')"
ORIG="" DEBIAN_TAR=""
for f in "$WORK"/dl/crun_"$UPSTREAM_VERSION".orig.tar.*; do [[ -f $f && $f != *.asc ]] && ORIG=$f && break; done
for f in "$WORK"/dl/crun_*.debian.tar.*; do [[ -f $f ]] && DEBIAN_TAR=$f && break; done
[[ -n $ORIG ]] || die "no orig tarball for $UPSTREAM_VERSION in $WORK/dl"
phase_done "download ($(basename "$ORIG"))"

tar -xf "$ORIG" -C "$WORK"
SRC=$WORK/crun-$UPSTREAM_VERSION
[[ -x $SRC/configure ]] || die "unexpected orig tarball layout: $SRC/configure missing"
# Debian's own patches first (bug fixes of the Debian build, e.g. chmod-on-symlink ENOTSUP on Linux >= 6.6),
# so the library behaves like the distribution's /usr/bin/crun of the same version.
if [[ -n $DEBIAN_TAR ]]; then
  mkdir -p "$WORK/debian-src"
  tar -xf "$DEBIAN_TAR" -C "$WORK/debian-src"
  series=$WORK/debian-src/debian/patches/series
  if [[ -f $series ]]; then
    while read -r p _; do
      [[ -z $p || $p == \#* ]] && continue
      log "applying Debian patch $p"
      patch -s -p1 -d "$SRC" <"$WORK/debian-src/debian/patches/$p"
    done <"$series"
  fi
fi
log "applying $(basename "$PATCH_FILE")"
patch -s -p1 -d "$SRC" <"$PATCH_FILE"
grep -q '__attribute__ ((constructor)) static void' "$SRC/src/libcrun/linux.c" &&
  die "the rexec constructor is still present after patching"
phase_done "unpack + patch"

# ---- build ---------------------------------------------------------------------------------------
(
  cd "$SRC"
  CFLAGS="${BUILD_CFLAGS//@SRC@/$SRC}" LDFLAGS="$BUILD_LDFLAGS" ./configure --quiet "${CONFIGURE_FLAGS[@]}" "${CONFIGURE_CACHE_VARS[@]}" >"$WORK/configure.log" 2>&1 ||
    { tail -n 40 "$WORK/configure.log" >&2; exit 1; }
) || die "configure failed"
CONFIGURED_VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$SRC/config.h")
[[ $CONFIGURED_VERSION == "$UPSTREAM_VERSION" ]] ||
  die "configured PACKAGE_VERSION '$CONFIGURED_VERSION' != expected '$UPSTREAM_VERSION'"
phase_done "configure"

# Only the library target: the crun binary, man pages and python bits are not needed.
make -C "$SRC" -j2 libcrun.la >"$WORK/make.log" 2>&1 || { tail -n 60 "$WORK/make.log" >&2; die "make failed"; }
BUILT=$(readlink -f "$SRC/.libs/libcrun.so")
[[ -f $BUILT ]] || die "make produced no .libs/libcrun.so"
phase_done "make -j2 libcrun.la"

# ---- verify and install --------------------------------------------------------------------------
verify_library "$BUILT"
install -m 0644 "$BUILT" "$LIB_PATH.tmp"
strip --strip-unneeded "$LIB_PATH.tmp"
verify_library "$LIB_PATH.tmp"
mv -f "$LIB_PATH.tmp" "$LIB_PATH"
echo "$UPSTREAM_VERSION" >"$OUT/VERSION"
{
  build_key
  echo "library=$LIB_NAME"
  echo "library_sha256=$(sha256sum "$LIB_PATH" | cut -d' ' -f1)"
} >"$OUT/BUILD-INFO"
phase_done "verify + install"

log "built $LIB_PATH ($(stat -c %s "$LIB_PATH") bytes) in $(elapsed "$T0")"
echo "$LIB_PATH"
