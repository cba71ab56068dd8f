#!/usr/bin/env bash
# One-call check of gradreg on a machine with an NVIDIA GPU and no Node.js (the device tool's
# machine), in under 8 minutes, everything written under $OUT:
#   1. node      unpack the Node binary and headers carried in .gpu-carry/ (scripts/pack-node.sh),
#                node_modules, dist/ and MNIST
#   2. vulkan    bring the Vulkan loader (.gpu-carry/gl/*.deb) when the machine has none, and point
#                it at NVIDIA's ICD
#   3. cuda      build the CUDA addon (nvcc, cmake-js against the carried headers)
#   4. cuda-parity    test/cuda/cuda-device.test.ts: every op sample, forward, first and second
#                order, float32 and float64, against the cpu reference; the kernel and training suites
#   5. webgpu-parity  test/webgpu/parity.test.ts on the GPU through NVIDIA's Vulkan driver (CI=true:
#                no adapter fails), and the adapter must not be a software one
#   6. mnist     one epoch of the small CNN on MNIST (50,000 images) with double backpropagation on cuda
#   7. bench     the models x regularizers step bench on cuda, against PyTorch on CUDA when python3
#                has torch (bench/run.ts --device cuda)
# $OUT gets summary.md (each step's status and time), cuda.log, webgpu.log, mnist.log, bench.md,
# bench.json and logs.tar.gz (everything else): at most 8 files, as the device tool returns.
#
# Run on the device machine with `.gpu-carry` carried:   bash scripts/gpu-check.sh
# Rehearse here, without a GPU:                          bash scripts/gpu-check.sh --rehearse
#   The rehearsal copies the tracked tree and .gpu-carry/ to a scratch directory with no node_modules,
#   dist or build, puts the carried node first on PATH and runs every step there: the CUDA and
#   WebGPU steps must then skip for want of a device (and say so), the MNIST epoch and the bench run
#   on the cpu backends with small sizes, and nothing is unpacked into /.
# Exit status: the number of failed steps (0: all passed). GPU_CHECK_BUDGET (seconds, default 470)
# bounds the whole check; each step also has its own limit.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rehearse=0
for a in "$@"; do
  case "$a" in
    --rehearse) rehearse=1 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option '$a' (known: --rehearse)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-$here/gpu-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
logs=$OUT/logs
mkdir -p "$logs"
carry=$here/.gpu-carry
[ -f "$carry/node.tar.xz" ] || { echo "gpu-check: $carry/node.tar.xz is missing: run scripts/pack-node.sh on a machine with Node.js and carry .gpu-carry" >&2; exit 2; }

start=$SECONDS
summary=$OUT/summary.md
{
  echo "# gpu-check $(date -u +%FT%TZ)$([ $rehearse = 1 ] && echo ' (rehearsal, no GPU)')"
  echo
  echo "| step | status | seconds | note |"
  echo "| --- | --- | ---: | --- |"
} > "$summary"
failed=0
# step NAME LIMIT_SECONDS CMD...: runs CMD with a time limit, logs to $logs/NAME.log, records the row.
# The command's last line starting with "note:" becomes the row's note.
# Every step's limit is cut to what is left of the whole check's budget (GPU_CHECK_BUDGET seconds,
# default 470: under 8 minutes with the collection at the end).
# The rehearsal, on a (shared) CPU machine, gets three times each limit and 30 minutes in all.
if [ $rehearse = 1 ]; then budget=${GPU_CHECK_BUDGET:-1800}; else budget=${GPU_CHECK_BUDGET:-470}; fi
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS status left=$((start + budget - SECONDS))
  if [ "$left" -lt 15 ]; then
    echo "| $name | NOT RUN (the ${budget} s budget is spent) | 0 | |" >> "$summary"
    echo "gpu-check: [$name] not run: the ${budget} s budget is spent"
    failed=$((failed + 1))
    return 1
  fi
  [ $rehearse = 1 ] && limit=$((limit * 3))
  [ "$limit" -gt "$left" ] && limit=$left
  echo "gpu-check: [$name] ..."
  # the steps are functions of this script: exported below, run by a child bash under timeout
  timeout --kill-after=10 "$limit" bash -c '"$@"' _ "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  if [ $rc = 0 ]; then status=ok; elif [ $rc = 124 ]; then status="TIMEOUT ${limit}s"; failed=$((failed + 1)); else status="FAILED ($rc)"; failed=$((failed + 1)); fi
  local note
  note=$(grep '^note:' "$logs/$name.log" | tail -1 | sed 's/^note: *//; s/|/\//g')
  echo "| $name | $status | $((SECONDS - t0)) | $note |" >> "$summary"
  echo "gpu-check: [$name] $status in $((SECONDS - t0)) s${note:+: $note}"
  return $rc
}

# ---- the working directory: here, or a scratch copy for the rehearsal ----
if [ $rehearse = 1 ]; then
  work=$(mktemp -d /tmp/gradreg-gpu-check.XXXXXX)
  (cd "$here" && git ls-files -z | tar --null -cf - -T - .gpu-carry) | tar -C "$work" -xf -
  tools=$work/.tools
else
  work=$here
  tools=/tmp/gradreg-tools
fi
mkdir -p "$tools"
cd "$work" || exit 2
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# ---- 1. node, node_modules, dist, MNIST ----
unpack() {
  tar -C "$tools" -xJf .gpu-carry/node.tar.xz || return 1
  [ -d node_modules ] || tar -xJf .gpu-carry/node_modules.tar.xz || return 1
  [ -d dist ] || tar -xJf .gpu-carry/dist.tar.xz || return 1
  tar -C "$tools" -xf .gpu-carry/mnist.tar || return 1
  "$tools/node/bin/node" -e 'process.stdout.write(`note: node ${process.version} ${process.arch}, headers ${require("fs").existsSync(process.argv[1])}\n`)' "$tools/node/include/node/node_api.h"
}
export rehearse tools logs OUT
export -f unpack
step node 120 unpack || { echo "gpu-check: cannot continue without node" >&2; exit 1; }
export PATH=$tools/node/bin:$PATH
export npm_config_nodedir=$tools/node

# ---- 2. the Vulkan loader and NVIDIA's ICD ----
vulkan() {
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    echo "note: the machine's own Vulkan loader"
  elif ls .gpu-carry/gl/*.deb >/dev/null 2>&1; then
    if [ $rehearse = 1 ]; then
      echo "note: rehearsal: would unpack $(ls .gpu-carry/gl/*.deb | wc -l) .deb files into / (not done here)"
    else
      for f in .gpu-carry/gl/*.deb; do dpkg -x "$f" / || return 1; done
      ldconfig
      echo "note: unpacked the carried Vulkan loader"
    fi
  else
    echo "no Vulkan loader on the machine and none carried (scripts/pack-node.sh downloads it)"
    return 1
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    echo "VK_DRIVER_FILES=$icd"
  fi
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
  nvidia-smi -L 2>&1 || true
}
export -f vulkan
step vulkan 60 vulkan
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

# ---- 3. the CUDA addon ----
build_cuda() {
  node scripts/build-cuda.mjs || return 1
  if [ -f build/cuda/Release/gradreg_cuda.node ]; then
    echo "note: built build/cuda/Release/gradreg_cuda.node"
  elif [ $rehearse = 1 ]; then
    echo "note: rehearsal: no nvcc here, CUDA addon not built (expected)"
  else
    echo "the CUDA addon was not built"
    return 1
  fi
}
export -f build_cuda
step cuda 240 build_cuda

# vitest with a JSON report; then: no failure, and (on the GPU) nothing skipped and the device named.
# suite NAME FILE MUST_SAY [vitest args...]
suite() {
  local name=$1 file=$2 must=$3
  shift 3
  local json=$logs/$name.json
  NO_COLOR=1 node node_modules/vitest/vitest.mjs run "$file" --reporter=default --reporter=json --outputFile.json="$json" "$@" 2>&1 | tee "$logs/$name.out"
  local rc=${PIPESTATUS[0]}
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const [rehearse] = [process.argv[2] === "1"];
    console.log(`note: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests ?? 0)} skipped of ${r.numTotalTests}`);
    if (r.numFailedTests > 0) process.exit(1);
    if (!rehearse && r.numPendingTests > 0) { console.log("tests were skipped on the GPU machine"); process.exit(1); }
    if (!rehearse && r.numPassedTests === 0) process.exit(1);
  ' "$json" "$rehearse" || return 1
  [ $rc = 0 ] || return $rc
  grep -q -- "$must" "$logs/$name.out" || { echo "expected the log to say: $must"; return 1; }
}

export -f suite
# ---- 4. CUDA parity: forward, first and second order ----
if [ $rehearse = 1 ]; then
  step cuda-parity 300 suite cuda-parity test/cuda/cuda-device.test.ts 'skipped, no usable CUDA device'
else
  step cuda-parity 300 suite cuda-parity test/cuda/cuda-device.test.ts 'cuda-device: running on'
fi

# ---- 5. WebGPU parity on the GPU through Vulkan ----
adapter() {
  node --input-type=module -e '
    import * as g from "./dist/index.js";
    import { registerDefaultBackends } from "./dist/backends/registry.js";
    import { engine } from "./dist/engine.js";
    registerDefaultBackends();
    await g.initBackend("webgpu");
    const be = engine.backend("webgpu");
    console.log(`note: ${g.deviceInfo("webgpu")}${be.software ? " (software adapter)" : ""}`);
    if (be.software && process.argv[1] !== "1") { console.log("a software adapter: not the GPU"); process.exit(1); }
  ' "$rehearse"
}
webgpu() {
  adapter || return 1
  # the rehearsal runs a third of the samples on the software adapter (the whole suite takes long there)
  if [ $rehearse = 1 ]; then CI=true suite webgpu-parity test/webgpu/parity.test.ts 'test/webgpu/parity.test.ts' -t 'matmul|conv|softmax'
  else CI=true suite webgpu-parity test/webgpu/parity.test.ts 'test/webgpu/parity.test.ts'; fi
}
export -f adapter webgpu
step webgpu 240 webgpu

# ---- 6. one epoch of the small CNN on MNIST with double backpropagation ----
mnist() {
  local dev=cuda size=5000 tp=0
  if [ $rehearse = 1 ]; then dev=cpu; size=30; tp=500; fi
  node dist/cli/main.js reproduce thesis-table2 --methods db --sizes "$size" --seeds 1 --epochs 1 --lambdas 0.01 \
    --device "$dev" --data-dir "$tools/mnist" --test-points "$tp" --out "$logs/mnist-run" || return 1
  # the full epoch must learn (test accuracy > 0.9); the rehearsal's 10 steps only beat chance
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const r = lines[lines.length - 1].result;
    console.log(`note: ${r.backend}: ${r.steps} steps, test accuracy ${r.testAccuracy} in ${Math.round(r.wallSeconds)} s`);
    if (r.status !== "completed" || !(r.testAccuracy > Number(process.argv[2]))) process.exit(1);
  ' "$logs/mnist-run/results.jsonl" "$([ $rehearse = 1 ] && echo 0.2 || echo 0.9)"
}
export -f mnist
step mnist 180 mnist

# ---- 7. models x regularizers on cuda (and PyTorch CUDA when present) ----
bench() {
  local dev=cuda models=small,lenet5,resnet secs=0.5
  local regs=baseline,db,spectreg,fob/loop,fob/batched,jac/loop,jac/batched,hsfob/loop,hsfob/batched,hsfob-est,ni
  if [ $rehearse = 1 ]; then dev=cpu; models=lenet5; regs=baseline,fob/loop,fob/batched; secs=0.2; fi
  node --import tsx bench/run.ts --suites models --backends "$dev" --device "$dev" --models "$models" --regs "$regs" \
    --max-seconds "$secs" --rounds 1 || return 1
  local md
  md=$(ls -t bench/results/bench-*.md | head -1)
  cp "$md" "$OUT/bench.md" && cp "${md%.md}.json" "$OUT/bench.json"
  echo "note: $dev: $(grep -c '^| \(small\|lenet5\|resnet\) |' "$OUT/bench.md") model x regularizer rows in bench.md"
}
export -f bench
step bench 240 bench

# ---- collect ----
cat "$logs/cuda.log" "$logs/cuda-parity.log" > "$OUT/cuda.log" 2>/dev/null
cat "$logs/vulkan.log" "$logs/webgpu.log" > "$OUT/webgpu.log" 2>/dev/null
cp "$logs/mnist.log" "$OUT/mnist.log" 2>/dev/null
{
  echo
  echo "Total: $((SECONDS - start)) s, $failed failed step(s). Machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); $(nproc) cores."
} >> "$summary"
tar -C "$OUT" -czf "$OUT/logs.tar.gz" logs && rm -rf "$logs"
cat "$summary"
[ $rehearse = 1 ] && rm -rf "$work"
exit $failed
