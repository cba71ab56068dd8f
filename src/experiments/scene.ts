/**
 * A tiny vector scene (lines, polylines, discs, rectangles, text), written out as SVG by toSvg; the
 * PNG of a plot is that SVG rendered by resvg (png.ts), so the two files show the same picture.
 */

export type Color = string; // '#rrggbb'

export type Shape =
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: Color; width: number; dash?: number[] }
  | { kind: 'polyline'; points: [number, number][]; stroke: Color; width: number; dash?: number[] }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: Color }
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill?: Color; stroke?: Color }
  | {
      kind: 'text';
      x: number;
      /** Baseline. */
      y: number;
      text: string;
      size: number;
      anchor: 'start' | 'middle' | 'end';
      color: Color;
      /** Rotated by -90 degrees about (x, y) (a vertical axis label). */
      vertical?: boolean;
    };

export interface Scene {
  width: number;
  height: number;
  background: Color;
  shapes: Shape[];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n = (v: number): string => String(Math.round(v * 100) / 100);

export function toSvg(s: Scene): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${s.width}" height="${s.height}" viewBox="0 0 ${s.width} ${s.height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect x="0" y="0" width="${s.width}" height="${s.height}" fill="${s.background}"/>`,
  ];
  for (const sh of s.shapes) {
    switch (sh.kind) {
      case 'line':
        out.push(`<line x1="${n(sh.x1)}" y1="${n(sh.y1)}" x2="${n(sh.x2)}" y2="${n(sh.y2)}" stroke="${sh.stroke}" stroke-width="${sh.width}"${sh.dash ? ` stroke-dasharray="${sh.dash.join(' ')}"` : ''}/>`);
        break;
      case 'polyline':
        out.push(`<polyline points="${sh.points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}" fill="none" stroke="${sh.stroke}" stroke-width="${sh.width}" stroke-linejoin="round"${sh.dash ? ` stroke-dasharray="${sh.dash.join(' ')}"` : ''}/>`);
        break;
      case 'circle':
        out.push(`<circle cx="${n(sh.cx)}" cy="${n(sh.cy)}" r="${n(sh.r)}" fill="${sh.fill}"/>`);
        break;
      case 'rect':
        out.push(`<rect x="${n(sh.x)}" y="${n(sh.y)}" width="${n(sh.w)}" height="${n(sh.h)}" fill="${sh.fill ?? 'none'}"${sh.stroke ? ` stroke="${sh.stroke}"` : ''}/>`);
        break;
      case 'text': {
        const rot = sh.vertical ? ` transform="rotate(-90 ${n(sh.x)} ${n(sh.y)})"` : '';
        out.push(`<text x="${n(sh.x)}" y="${n(sh.y)}" font-size="${sh.size}" text-anchor="${sh.anchor}" fill="${sh.color}"${rot}>${esc(sh.text)}</text>`);
        break;
      }
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
