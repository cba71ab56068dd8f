/**
 * Rasterize a Scene to an RGB image and encode it as PNG (zlib from node, CRC-32 here), with no
 * external tool. Lines are drawn with square brushes, discs and rectangles filled, and text set in
 * the 5x7 bitmap font of font.ts, scaled by an integer factor: plain, but readable and dependable.
 */
import { deflateSync } from 'node:zlib';
import { GLYPH_H, GLYPH_W, GLYPHS } from './font.js';
import type { Color, Scene, Shape } from './scene.js';

class Raster {
  readonly px: Uint8Array;
  constructor(readonly w: number, readonly h: number, bg: Color) {
    this.px = new Uint8Array(w * h * 3);
    const [r, g, b] = rgb(bg);
    for (let i = 0; i < w * h; i++) {
      this.px[i * 3] = r;
      this.px[i * 3 + 1] = g;
      this.px[i * 3 + 2] = b;
    }
  }
  set(x: number, y: number, c: readonly [number, number, number]): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.w || yi >= this.h) return;
    const o = (yi * this.w + xi) * 3;
    this.px[o] = c[0];
    this.px[o + 1] = c[1];
    this.px[o + 2] = c[2];
  }
  fillRect(x: number, y: number, w: number, h: number, c: readonly [number, number, number]): void {
    for (let yy = Math.round(y); yy < Math.round(y + h); yy++) for (let xx = Math.round(x); xx < Math.round(x + w); xx++) this.set(xx, yy, c);
  }
}

export function rgb(c: Color): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(c);
  if (!m) return [0, 0, 0];
  const v = parseInt(m[1]!, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function brush(r: Raster, x: number, y: number, width: number, c: readonly [number, number, number]): void {
  const h = Math.max(0, (Math.max(1, Math.round(width)) - 1) / 2);
  r.fillRect(x - h, y - h, 2 * h + 1, 2 * h + 1, c);
}

/** A segment in steps of at most half a pixel; `phase` carries the dash pattern across segments. */
function segment(r: Raster, x1: number, y1: number, x2: number, y2: number, width: number, c: readonly [number, number, number], dash: number[] | undefined, phase: number): number {
  const len = Math.hypot(x2 - x1, y2 - y1);
  const steps = Math.max(1, Math.ceil(len * 2));
  const period = dash ? dash.reduce((a, b) => a + b, 0) : 0;
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    if (dash && period > 0) {
      let p = (phase + t * len) % period;
      let on = true;
      for (const d of dash) {
        if (p < d) break;
        p -= d;
        on = !on;
      }
      if (!on) continue;
    }
    brush(r, x1 + (x2 - x1) * t, y1 + (y2 - y1) * t, width, c);
  }
  return phase + len;
}

export function textWidth(text: string, size: number): number {
  const s = fontScale(size);
  return text.length * (GLYPH_W + 1) * s - s;
}

function fontScale(size: number): number {
  return Math.max(1, Math.round(size / 9));
}

function drawText(r: Raster, sh: Extract<Shape, { kind: 'text' }>): void {
  let s = fontScale(sh.size);
  // a text wider than the image is set smaller rather than cut
  const room = (sh.vertical ? r.h : r.w) - 8;
  while (s > 1 && sh.text.length * (GLYPH_W + 1) * s - s > room) s--;
  const c = rgb(sh.color);
  const w = sh.text.length * (GLYPH_W + 1) * s - s;
  const start = sh.anchor === 'start' ? 0 : sh.anchor === 'middle' ? -w / 2 : -w;
  // text-space (u along the text, v down from the baseline) to image space
  const put = (u: number, v: number): void => {
    if (sh.vertical) r.set(sh.x + v, sh.y - u, c);
    else r.set(sh.x + u, sh.y + v, c);
  };
  [...sh.text].forEach((ch, i) => {
    const rows = GLYPHS.get(ch);
    const x0 = start + i * (GLYPH_W + 1) * s;
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        const on = rows ? ((rows[gy]! >> (GLYPH_W - 1 - gx)) & 1) === 1 : ch !== ' ' && (gy === 0 || gy === GLYPH_H - 1 || gx === 0 || gx === GLYPH_W - 1);
        if (!on) continue;
        for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) put(Math.round(x0 + gx * s + a), gy * s + b - GLYPH_H * s);
      }
    }
  });
}

export function rasterize(scene: Scene): { width: number; height: number; rgb: Uint8Array } {
  const r = new Raster(scene.width, scene.height, scene.background);
  for (const sh of scene.shapes) {
    switch (sh.kind) {
      case 'line':
        segment(r, sh.x1, sh.y1, sh.x2, sh.y2, sh.width, rgb(sh.stroke), sh.dash, 0);
        break;
      case 'polyline': {
        let phase = 0;
        for (let i = 1; i < sh.points.length; i++) {
          const [a, b] = [sh.points[i - 1]!, sh.points[i]!];
          phase = segment(r, a[0], a[1], b[0], b[1], sh.width, rgb(sh.stroke), sh.dash, phase);
        }
        break;
      }
      case 'circle': {
        const c = rgb(sh.fill);
        for (let y = Math.floor(sh.cy - sh.r); y <= Math.ceil(sh.cy + sh.r); y++) {
          for (let x = Math.floor(sh.cx - sh.r); x <= Math.ceil(sh.cx + sh.r); x++) {
            if ((x - sh.cx) ** 2 + (y - sh.cy) ** 2 <= sh.r * sh.r + 0.25) r.set(x, y, c);
          }
        }
        break;
      }
      case 'rect':
        if (sh.fill && sh.fill !== 'none') r.fillRect(sh.x, sh.y, sh.w, sh.h, rgb(sh.fill));
        if (sh.stroke) {
          const c = rgb(sh.stroke);
          segment(r, sh.x, sh.y, sh.x + sh.w, sh.y, 1, c, undefined, 0);
          segment(r, sh.x + sh.w, sh.y, sh.x + sh.w, sh.y + sh.h, 1, c, undefined, 0);
          segment(r, sh.x + sh.w, sh.y + sh.h, sh.x, sh.y + sh.h, 1, c, undefined, 0);
          segment(r, sh.x, sh.y + sh.h, sh.x, sh.y, 1, c, undefined, 0);
        }
        break;
      case 'text':
        drawText(r, sh);
        break;
    }
  }
  return { width: r.w, height: r.h, rgb: r.px };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** PNG of an 8-bit RGB image (filter 0 on every row). */
export function encodePng(width: number, height: number, pixels: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolor RGB
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

export function sceneToPng(scene: Scene): Buffer {
  const img = rasterize(scene);
  return encodePng(img.width, img.height, img.rgb);
}
