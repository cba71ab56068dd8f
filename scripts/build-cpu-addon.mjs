// Builds the native CPU addon (binding.gyp -> build/Release/gradreg_cpu.node) with the node-gyp in
// node_modules, offline: node-gyp is pointed at Node headers already on this machine (--nodedir), so
// it never downloads a header tarball. Prints one line saying what it built or why it did not, and
// always exits 0: without the addon, the TypeScript cpu backend is the fallback.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();

function done(msg) {
  console.log(`gradreg: ${msg}`);
  process.exit(0);
}

if (process.env.GRADREG_SKIP_NATIVE === '1') done('native CPU addon skipped (GRADREG_SKIP_NATIVE=1)');
if (process.platform !== 'linux' || process.arch !== 'x64') {
  done(`native CPU addon not built: it supports linux-x64, this is ${process.platform}-${process.arch}; the TypeScript cpu backend is used`);
}

/** A directory holding include/node/common.gypi for this Node version, or null. */
function findNodeDir() {
  const version = process.versions.node;
  const candidates = [
    process.env.GRADREG_NODEDIR,
    // Official tarballs and distro packages (Debian's nodejs puts node at /usr/bin and headers at /usr/include/node).
    dirname(dirname(process.execPath)),
    '/usr',
    '/usr/local',
    // A header cache left by an earlier online node-gyp run.
    join(homedir(), '.cache', 'node-gyp', version),
    join(homedir(), '.node-gyp', version),
  ].filter(Boolean);
  for (const dir of candidates) {
    const gypi = join(dir, 'include', 'node', 'common.gypi');
    const header = join(dir, 'include', 'node', 'node_api.h');
    if (!existsSync(gypi) || !existsSync(header)) continue;
    const vh = join(dir, 'include', 'node', 'node_version.h');
    if (!existsSync(vh)) continue;
    return dir;
  }
  return null;
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const missing = ['make', 'g++', 'python3'].filter((c) => !which(c));
if (missing.length) {
  done(`native CPU addon not built: missing ${missing.join(', ')} (Debian: apt-get install build-essential python3); the TypeScript cpu backend is used`);
}

const nodeDir = findNodeDir();
if (!nodeDir) {
  done(
    `native CPU addon not built: no Node ${process.versions.node} headers found (looked for include/node/common.gypi under ${dirname(dirname(process.execPath))}, /usr, /usr/local and the node-gyp cache; set GRADREG_NODEDIR); the TypeScript cpu backend is used`,
  );
}

let gypBin;
try {
  gypBin = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  done('native CPU addon not built: node-gyp is not installed (it is a devDependency); the TypeScript cpu backend is used');
}

const jobs = String(Math.max(1, availableParallelism()));
const log = [];
for (const step of [['configure'], ['build', '-j', jobs]]) {
  const r = spawnSync(process.execPath, [gypBin, ...step, `--nodedir=${nodeDir}`], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodeDir },
    maxBuffer: 64 * 1024 * 1024,
  });
  log.push(`$ node-gyp ${step.join(' ')} --nodedir=${nodeDir}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    mkdirSync(join(root, 'build'), { recursive: true });
    const logFile = join(root, 'build', 'cpu-addon-build.log');
    writeFileSync(logFile, log.join('\n'));
    const lines = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').filter((l) => /error/i.test(l));
    done(`native CPU addon not built: node-gyp ${step[0]} failed (${lines[0]?.trim() ?? `exit ${r.status}`}; full log in ${logFile}); the TypeScript cpu backend is used`);
  }
}
writeFileSync(join(root, 'build', 'cpu-addon-build.log'), log.join('\n'));

// Load it in a child process: a build that links but cannot load is reported here, not at first use.
const addon = join(root, 'build', 'Release', 'gradreg_cpu.node');
const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); const i = a.info(); console.log(i.isa + ' GEMM, ' + i.threads + ' threads')`], {
  encoding: 'utf8',
});
if (probe.status !== 0) {
  done(`native CPU addon built but does not load: ${(probe.stderr || '').split('\n')[0]}; the TypeScript cpu backend is used`);
}
const secs = ((Date.now() - started) / 1000).toFixed(0);
done(`native CPU addon built in ${secs} s against the headers in ${nodeDir} (${probe.stdout.trim()})`);
