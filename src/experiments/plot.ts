/** Line plots with error bars, linear or log axes and a legend, as a Scene (then SVG and PNG). */
import type { Color, Scene, Shape } from './scene.js';

export interface Point {
  x: number;
  y: number;
  /** Half-length of the error bar (one standard deviation). */
  err?: number;
}

export interface Series {
  name: string;
  points: Point[];
  dashed?: boolean;
  /** Draw markers at the points (default true). */
  markers?: boolean;
  /** Draw the connecting line (default true). */
  line?: boolean;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  /** Explicit x ticks (e.g. the training sizes); default: automatic. */
  xTicks?: number[];
  /** Labels of the explicit x ticks (categories, e.g. method names), in their order. */
  xTickLabels?: string[];
  series: Series[];
  width?: number;
  height?: number;
}

export const PALETTE: Color[] = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** About `count` round ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Powers of ten inside [lo, hi], thinned to at most ~8. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.ceil(Math.log10(lo) - 1e-9);
  const b = Math.floor(Math.log10(hi) + 1e-9);
  const every = Math.max(1, Math.ceil((b - a + 1) / 8));
  const out: number[] = [];
  for (let e = a; e <= b; e += every) out.push(Number((10 ** e).toPrecision(1)));
  return out.length >= 2 ? out : [lo, hi];
}

export function tickLabel(v: number, log: boolean): string {
  if (v === 0) return '0';
  const e = Math.log10(Math.abs(v));
  if (log && Math.abs(e - Math.round(e)) < 1e-9 && (Math.round(e) < -2 || Math.round(e) > 4)) return `1e${Math.round(e)}`;
  if (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

export function linePlot(spec: PlotSpec): Scene {
  const W = spec.width ?? 760;
  const H = spec.height ?? 480;
  const m = { left: 74, right: 180, top: 44, bottom: 58 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.xLog || p.x > 0));
  const xs = pts.map((p) => p.x);
  let x0 = Math.min(...xs, ...(spec.xTicks ?? []));
  let x1 = Math.max(...xs, ...(spec.xTicks ?? []));
  let y0 = Math.min(...pts.map((p) => p.y - (p.err ?? 0)));
  let y1 = Math.max(...pts.map((p) => p.y + (p.err ?? 0)));
  if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [spec.xLog ? 1 : 0, spec.xLog ? 10 : 1, 0, 1];
  if (spec.xTickLabels && !spec.xLog) [x0, x1] = [x0 - 0.5, x1 + 0.5]; // categories: room around the first and last
  if (x1 === x0) [x0, x1] = spec.xLog ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.06;
  y0 -= pad;
  y1 += pad;
  const fx = (x: number): number => {
    const t = spec.xLog ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0);
    return m.left + 10 + t * (pw - 20);
  };
  const fy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const shapes: Shape[] = [];
  const ink = '#222222';
  const grid = '#e6e6e6';
  shapes.push({ kind: 'rect', x: m.left, y: m.top, w: pw, h: ph, fill: '#ffffff', stroke: ink });
  const yt = niceTicks(y0, y1, 6).filter((v) => v >= y0 && v <= y1);
  for (const v of yt) {
    shapes.push({ kind: 'line', x1: m.left, y1: fy(v), x2: m.left + pw, y2: fy(v), stroke: grid, width: 1 });
    shapes.push({ kind: 'line', x1: m.left - 5, y1: fy(v), x2: m.left, y2: fy(v), stroke: ink, width: 1 });
    shapes.push({ kind: 'text', x: m.left - 8, y: fy(v) + 4, text: tickLabel(v, false), size: 11, anchor: 'end', color: ink });
  }
  const xt = spec.xTicks ?? (spec.xLog ? logTicks(x0, x1) : niceTicks(x0, x1, 6));
  xt.forEach((v, i) => {
    shapes.push({ kind: 'line', x1: fx(v), y1: m.top + ph, x2: fx(v), y2: m.top + ph + 5, stroke: ink, width: 1 });
    const label = spec.xTicks && spec.xTickLabels?.[i] !== undefined ? spec.xTickLabels[i]! : tickLabel(v, !!spec.xLog);
    shapes.push({ kind: 'text', x: fx(v), y: m.top + ph + 19, text: label, size: 11, anchor: 'middle', color: ink });
  });
  shapes.push({ kind: 'text', x: W / 2, y: 26, text: spec.title, size: 15, anchor: 'middle', color: ink });
  shapes.push({ kind: 'text', x: m.left + pw / 2, y: H - 14, text: spec.xLabel, size: 13, anchor: 'middle', color: ink });
  shapes.push({ kind: 'text', x: 20, y: m.top + ph / 2, text: spec.yLabel, size: 13, anchor: 'middle', color: ink, vertical: true });
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const good = s.points.filter((p) => Number.isFinite(p.y) && (!spec.xLog || p.x > 0)).sort((a, b) => a.x - b.x);
    const dash = s.dashed ? [6, 4] : undefined;
    if ((s.line ?? true) && good.length > 1) shapes.push({ kind: 'polyline', points: good.map((p) => [fx(p.x), fy(p.y)]), stroke: color, width: 2, dash });
    for (const p of good) {
      if (p.err && p.err > 0) {
        shapes.push({ kind: 'line', x1: fx(p.x), y1: fy(p.y - p.err), x2: fx(p.x), y2: fy(p.y + p.err), stroke: color, width: 1 });
        shapes.push({ kind: 'line', x1: fx(p.x) - 4, y1: fy(p.y - p.err), x2: fx(p.x) + 4, y2: fy(p.y - p.err), stroke: color, width: 1 });
        shapes.push({ kind: 'line', x1: fx(p.x) - 4, y1: fy(p.y + p.err), x2: fx(p.x) + 4, y2: fy(p.y + p.err), stroke: color, width: 1 });
      }
      if (s.markers ?? true) shapes.push({ kind: 'circle', cx: fx(p.x), cy: fy(p.y), r: 3.5, fill: color });
    }
    const ly = m.top + 14 + i * 20;
    const lx = m.left + pw + 14;
    shapes.push({ kind: 'line', x1: lx, y1: ly - 4, x2: lx + 24, y2: ly - 4, stroke: color, width: 2, dash });
    if (s.markers ?? true) shapes.push({ kind: 'circle', cx: lx + 12, cy: ly - 4, r: 3.5, fill: color });
    shapes.push({ kind: 'text', x: lx + 32, y: ly, text: s.name, size: 12, anchor: 'start', color: ink });
  });
  return { width: W, height: H, background: '#ffffff', shapes };
}
