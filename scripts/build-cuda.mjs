// Builds native/cuda with cmake-js into build/cuda/Release/:
//   gradreg_cuda.node       the CUDA backend, when nvcc is found;
//   gradreg_cuda_host.node  the host build of the same kernel bodies (g++ only), used by the tests.
// Run by `npm install` (scripts/install.mjs) and by `npm run build:cuda`. Works offline: cmake-js
// is pointed at Node headers already on the machine instead of downloading them.
// Flags: --host-only (skip the CUDA addon), --quiet (print only the summary line).
// Prints one line saying what it built or why it skipped; exits 0 unless a build failed.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'cuda');
const out = join(root, 'build', 'cuda');
const args = new Set(process.argv.slice(2));
const require = createRequire(join(root, 'package.json'));
const say = (msg) => console.log(`gradreg: ${msg}`);

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

function findNvcc() {
  const candidates = [process.env.CUDACXX, onPath('nvcc'), process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'), '/usr/local/cuda/bin/nvcc'];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

/** A directory D with D/include/node/node_api.h, which cmake-js accepts as a local Node "dist". */
function findNodeHeaders() {
  const v = process.versions.node;
  const candidates = [
    process.env.npm_config_nodedir,
    resolve(dirname(process.execPath), '..'),
    join(homedir(), '.cache', 'node-gyp', v),
    join(homedir(), '.cmake-js', `node-${process.arch}`, `v${v}`),
  ];
  const ok = (d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')) && existsSync(join(d, 'include', 'node', 'node.h'));
  const found = candidates.find(ok);
  if (found) return found;
  // Last resort: N-API needs only node_api.h and friends, which node-api-headers (a cmake-js
  // dependency) ships. cmake-js checks for node.h, which these sources never include.
  try {
    const api = require('node-api-headers').include_dir;
    const shim = join(out, 'node-headers');
    const inc = join(shim, 'include', 'node');
    mkdirSync(inc, { recursive: true });
    for (const f of readdirSync(api)) copyFileSync(join(api, f), join(inc, f));
    writeFileSync(join(inc, 'node.h'), '/* placeholder: gradreg builds against N-API only */\n');
    return shim;
  } catch {
    return null;
  }
}

function run(cmd, argv, env, quiet) {
  const r = spawnSync(cmd, argv, { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    console.log(text.split('\n').slice(-60).join('\n'));
  } else if (!quiet) {
    process.stdout.write(text);
  }
  return r.status === 0;
}

function main() {
  const start = Date.now();
  if (!onPath('cmake')) {
    say('cmake not found; CUDA addon not built (install cmake, then run `npm run build:cuda`)');
    return 0;
  }
  let cmakeJs;
  let addonApi;
  try {
    cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
    addonApi = dirname(require.resolve('node-addon-api/package.json'));
  } catch {
    say('cmake-js or node-addon-api is not installed; CUDA addon not built (run `npm install`)');
    return 0;
  }
  const headers = findNodeHeaders();
  if (!headers) {
    say('no Node.js headers found on this machine; CUDA addon not built');
    return 0;
  }
  const nvcc = args.has('--host-only') ? null : findNvcc();
  const env = { ...process.env, npm_config_nodedir: headers };
  const quiet = args.has('--quiet') || process.env.npm_lifecycle_event === 'install';
  const jobs = String(Math.max(1, availableParallelism()));
  const build = (withCuda) => {
    const common = ['--directory', source, '--out', out, '--log-level', 'warn'];
    const defs = [`--CDNODE_ADDON_API_DIR=${addonApi}`, `--CDGRADREG_CUDA=${withCuda ? 'ON' : 'OFF'}`];
    if (withCuda) defs.push(`--CDCMAKE_CUDA_COMPILER=${nvcc}`);
    return run(process.execPath, [cmakeJs, 'configure', ...common, ...defs], env, quiet)
      && run(process.execPath, [cmakeJs, 'build', ...common, ...defs, '--parallel', jobs], env, quiet);
  };
  mkdirSync(out, { recursive: true });
  if (!build(Boolean(nvcc))) {
    // No stale addon may outlive a failed build; keep the host test build, but fail the step.
    if (nvcc) rmSync(join(out, 'Release', 'gradreg_cuda.node'), { force: true });
    const host = nvcc ? build(false) : false;
    say(`CUDA addon build failed (output above)${host ? '; built only the host test build' : ''}`);
    return 1;
  }
  const secs = ((Date.now() - start) / 1000).toFixed(0);
  const rel = (f) => join('build', 'cuda', 'Release', f);
  if (nvcc) say(`built ${rel('gradreg_cuda.node')} and its host test build ${rel('gradreg_cuda_host.node')} in ${secs} s`);
  else if (args.has('--host-only')) say(`built the host test build ${rel('gradreg_cuda_host.node')} in ${secs} s`);
  else say(`nvcc not found, CUDA addon skipped; built only the host test build ${rel('gradreg_cuda_host.node')} (${secs} s)`);
  return 0;
}

process.exit(main());
