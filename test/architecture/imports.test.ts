/**
 * The module graph of src/ as docs/ARCHITECTURE.md draws it: no runtime import cycle (type-only
 * imports and lazy `import()` do not count: they run nothing at load), the engine core free of
 * concrete backends, and the upper layers on the side-effect-free API (src/api.ts) rather than
 * an entry (src/index.ts, src/browser.ts), which install and register the backends.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The src/ modules a file imports at load time (static imports and re-exports that are not type-only). */
export function runtimeImports(file: string, text = readFileSync(file, 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const st of sf.statements) {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(st)) {
      const c = st.importClause;
      const typeOnly = c !== undefined && (c.isTypeOnly || (!c.name && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings)
        && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) spec = st.moduleSpecifier;
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && !st.isTypeOnly) {
      const nb = st.exportClause;
      const typeOnly = nb !== undefined && ts.isNamedExports(nb) && nb.elements.length > 0 && nb.elements.every((e) => e.isTypeOnly);
      if (!typeOnly) spec = st.moduleSpecifier;
    }
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('.')) {
      out.push(resolve(dirname(file), spec.text.replace(/\.js$/, '.ts')));
    }
  }
  return out;
}

/** Every cycle of the graph, each as the list of files from its smallest member around. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') {
        const c = stack.slice(stack.indexOf(d));
        const k = c.indexOf([...c].sort()[0]!);
        const norm = [...c.slice(k), ...c.slice(0, k)];
        found.set(norm.join(' -> '), norm);
      } else if (!state.has(d)) {
        visit(d);
      }
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return [...found.values()];
}

const graph = new Map(sources(SRC).map((f) => [f, runtimeImports(f)]));
const rel = (f: string): string => relative(SRC, f);

describe('src/ import graph', () => {
  it('has no runtime import cycle', () => {
    expect(cycles(graph).map((c) => [...c, c[0]!].map(rel).join(' -> '))).toEqual([]);
  });

  it('the cycle finder finds cycles (a -> b -> c -> a) and ignores type-only imports', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []]]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
    const text = "import type { A } from './a.js';\nimport { type B } from './b.js';\nexport type { C } from './c.js';\nimport { d } from './d.js';\nexport { e } from './e.js';\n";
    expect(runtimeImports('/x/f.ts', text)).toEqual(['/x/d.ts', '/x/e.ts']);
  });

  it('the engine core (engine, tensor, scope, ops, autograd, api) loads no concrete backend', () => {
    const core = [...graph.keys()].filter((f) => /^(engine|tensor|scope|api)\.ts$|^(ops|autograd)\//.test(rel(f)));
    expect(core.length).toBeGreaterThan(10);
    for (const f of core) {
      for (const d of graph.get(f)!) expect(rel(d), `${rel(f)} imports ${rel(d)}`).not.toMatch(/^backends\/(cpu|native|webgpu|cuda)\//);
    }
  });

  it('every import goes to the same or a lower layer of the picture in docs/ARCHITECTURE.md', () => {
    // Highest first; a file belongs to the first layer whose pattern matches its path under src/.
    const LAYERS: [string, RegExp][] = [
      ['cli', /^cli\//],
      ['entries', /^(index|browser)\.ts$|^browser\/|^backends\/registry\.ts$/],
      ['experiments', /^experiments\//],
      ['regularizers', /^regularizers\//],
      ['train', /^train\//],
      ['data', /^data\//],
      ['nn optim', /^(nn|optim)\//],
      ['api', /^api\.ts$/],
      ['autograd', /^autograd\//],
      ['ops', /^ops\//],
      ['tensor engine scope', /^(tensor|engine|scope)\.ts$/],
      ['backends', /^backends\//],
      ['random dtype shape errors', /^(random\/|dtype\.ts$|shape\.ts$|errors\.ts$)/],
    ];
    const rank = (f: string): number => {
      const i = LAYERS.findIndex(([, re]) => re.test(rel(f)));
      expect(i, `${rel(f)} is in no layer`).toBeGreaterThanOrEqual(0);
      return LAYERS.length - i;
    };
    const upward = [...graph].flatMap(([f, ds]) => ds.filter((d) => rank(d) > rank(f)).map((d) => `${rel(f)} -> ${rel(d)}`));
    expect(upward).toEqual([]);
  });

  it('nothing inside src/ imports an entry (src/index.ts, src/browser.ts: they register the backends)', () => {
    const entries = [join(SRC, 'index.ts'), join(SRC, 'browser.ts')];
    const users = [...graph].filter(([, ds]) => ds.some((d) => entries.includes(d))).map(([f]) => rel(f));
    // The CLI is the application: it is allowed the public entry.
    expect(users.filter((f) => !f.startsWith('cli/'))).toEqual([]);
  });
});
