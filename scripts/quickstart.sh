#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine, as root: installs what nexcage needs, builds it, and
# runs a real busybox container through it with the default configuration (crun backend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
npm ci --no-audit --no-fund
npm run build

bundle=$(mktemp -d /tmp/nexcage-quickstart-XXXXXX)
root=$(mktemp -d /tmp/nexcage-quickstart-root-XXXXXX)
id="quickstart-$$"
nexcage() { node dist/nexcage.mjs --root "$root" "$@"; }
cleanup() { nexcage delete --force "$id" 2>/dev/null || true; rm -rf "$bundle" "$root"; }
trap cleanup EXIT

mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in sh echo sleep hostname; do ln -s busybox "$bundle/rootfs/bin/$applet"; done
nexcage spec --bundle "$bundle"
node -e '
  const fs = require("fs"); const p = process.argv[1]; const s = JSON.parse(fs.readFileSync(p, "utf8"));
  s.process.terminal = false; s.process.args = ["sh", "-c", "echo hello from $(hostname), a container run by nexcage; sleep 1000"];
  fs.writeFileSync(p, JSON.stringify(s, null, 2));' "$bundle/config.json"

echo "== nexcage create / start / state / list"
nexcage create --bundle "$bundle" "$id"
nexcage start "$id"
sleep 0.5
nexcage state "$id"
nexcage list
echo "== nexcage kill / delete"
nexcage kill "$id" KILL
for _ in $(seq 50); do nexcage state "$id" | grep -q '"stopped"' && break; sleep 0.1; done
nexcage delete "$id"
echo "== nexcage run (foreground, exit code passed through)"
node -e '
  const fs = require("fs"); const p = process.argv[1]; const s = JSON.parse(fs.readFileSync(p, "utf8"));
  s.process.args = ["sh", "-c", "echo hello again; exit 3"]; fs.writeFileSync(p, JSON.stringify(s, null, 2));' "$bundle/config.json"
set +e
nexcage run --bundle "$bundle" "$id"
code=$?
set -e
echo "exit code: $code"
[[ $code -eq 3 ]]
echo "quickstart: ok"
