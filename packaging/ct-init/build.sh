#!/usr/bin/env bash
# Build nexcage-ct-init (packaging/ct-init/ct-init.c), the static helper that carries a Proxmox CT's
# process to containerd's runc shim (docs/backends/proxmox-lxc.md, "containerd"). Static so that it
# runs inside any CT's rootfs. Needs gcc and libc6-dev (scripts/setup-host.sh installs them).
#
# Usage: packaging/ct-init/build.sh        Env: CT_INIT_OUT (default: <repo>/build/ct-init)
# Output: $CT_INIT_OUT/nexcage-ct-init
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT=${CT_INIT_OUT:-$REPO_ROOT/build/ct-init}
mkdir -p "$OUT"
# -ffile-prefix-map: the same bytes from any checkout directory
gcc -static -Os -s -Wall -Wextra -Werror -ffile-prefix-map="$SCRIPT_DIR"=. -o "$OUT/nexcage-ct-init.tmp" "$SCRIPT_DIR/ct-init.c"
mv "$OUT/nexcage-ct-init.tmp" "$OUT/nexcage-ct-init"
echo "ct-init: built $OUT/nexcage-ct-init" >&2
