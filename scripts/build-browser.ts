/**
 * The browser build (esbuild): dist/gradreg.browser.js, the `gradreg/browser` export (src/browser.ts
 * as one ESM file), and the demo page's script dist/demo/app.js (demo/app.ts). Run by `npm run build`
 * after tsc; the demo server and the browser test call buildBrowser() themselves.
 *
 * Four resolutions differ from Node's, as a package.json "browser" field would say:
 * - the `webgpu` package (Dawn for Node) -> src/backends/webgpu/navigator.ts (`navigator.gpu`);
 * - src/backends/webgpu/shaders.ts (reads shaders/*.wgsl from disk) -> a module holding each kernel
 *   family's source, produced here by that same shaders.ts, so the page runs the very text Node runs;
 * - src/backends/webgpu/quiet.ts (captures Dawn's native stderr) -> quiet.browser.ts (nothing to capture);
 * - src/index.ts (registers the Node-only backends) -> src/browser.ts, for modules inside the bundle
 *   that import the package's public entry: the demo's model.ts does, so that the browser test runs
 *   the very same model code on Node's entry.
 * Anything else reaching a Node built-in (node:fs, ...) fails the build, naming the importer.
 */
import { build, type Plugin } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAMILIES, shaderSource } from '../src/backends/webgpu/shaders.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const WEBGPU_DIR = join(SRC, 'backends', 'webgpu');

/** Modules (as imported, .js) whose browser versions the bundle takes instead. */
const TWINS = new Map([
  [join(WEBGPU_DIR, 'quiet.js'), join(WEBGPU_DIR, 'quiet.browser.ts')],
  [join(SRC, 'index.js'), join(SRC, 'browser.ts')],
]);

/** The generated stand-in for shaders.ts: the same exports, sources inlined. */
function shaderModule(): string {
  const sources: Record<string, string> = {};
  for (const f of FAMILIES) sources[f] = shaderSource(f);
  return [
    `import { DeviceError } from ${JSON.stringify(join(SRC, 'errors.ts'))};`,
    `export const FAMILIES = ${JSON.stringify(FAMILIES)};`,
    `const SOURCES = ${JSON.stringify(sources)};`,
    'export function shaderSource(family) {',
    '  const s = SOURCES[family];',
    "  if (s === undefined) throw new DeviceError(`webgpu: no shader for kernel family '${family}' in the browser build`);",
    '  return s;',
    '}',
  ].join('\n');
}

export function browserPlugin(): Plugin {
  return {
    name: 'gradreg-browser',
    setup(b) {
      b.onResolve({ filter: /^webgpu$/ }, () => ({ path: join(WEBGPU_DIR, 'navigator.ts') }));
      b.onResolve({ filter: /^\.\/shaders\.js$/ }, (a) =>
        a.resolveDir === WEBGPU_DIR ? { path: 'wgsl-sources', namespace: 'gradreg-shaders' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'gradreg-shaders' }, () => ({ contents: shaderModule(), loader: 'js', resolveDir: WEBGPU_DIR }));
      b.onResolve({ filter: /^\./ }, (a) => {
        const twin = TWINS.get(resolve(a.resolveDir, a.path));
        return twin ? { path: twin } : undefined;
      });
      b.onResolve({ filter: /^node:|^(fs|path|zlib|module|os|url|child_process|worker_threads)$/ }, (a) => ({
        errors: [{ text: `${a.importer} imports '${a.path}': the browser build must not reach Node-only modules` }],
      }));
    },
  };
}

export interface BrowserBuild {
  library: string;
  demo: string;
}

/** Bundle the library and the demo script into `outDir` (default dist/). */
export async function buildBrowser(outDir = join(ROOT, 'dist')): Promise<BrowserBuild> {
  mkdirSync(join(outDir, 'demo'), { recursive: true });
  const common = {
    bundle: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: 'es2022',
    sourcemap: true,
    minify: true,
    // class names appear in error messages (GradregError subclasses set this.name from them)
    keepNames: true,
    logLevel: 'warning' as const,
    plugins: [browserPlugin()],
  };
  const library = join(outDir, 'gradreg.browser.js');
  const demo = join(outDir, 'demo', 'app.js');
  await build({ ...common, entryPoints: [join(SRC, 'browser.ts')], outfile: library });
  await build({ ...common, entryPoints: [join(ROOT, 'demo', 'app.ts')], outfile: demo });
  return { library, demo };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  try {
    const out = await buildBrowser(process.argv[2] ? resolve(process.argv[2]) : undefined);
    console.log(`browser build: ${out.library} and ${out.demo} (${Math.round(performance.now() - t0)} ms)`);
  } catch {
    // esbuild has printed each error with its file and line
    console.error('browser build failed');
    process.exit(1);
  }
}
