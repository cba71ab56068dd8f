/**
 * PNG plots: the plot's SVG rendered by resvg (`@resvg/resvg-js`, prebuilt in its npm package), so
 * the PNG is the same picture as the SVG, with the text set in a real font.
 *
 * resvg draws text only with a font it can load. It reads the system's fonts (fontconfig's usual
 * directories: /usr/share/fonts, /usr/local/share/fonts, ~/.fonts, ~/.local/share/fonts); a fresh
 * Debian has none, and `.ci/run` installs `fonts-dejavu-core`. Without a usable font resvg would
 * silently drop every label, so `fontStatus()` renders a probe first and `svgToPng` refuses (a
 * DataError saying which package to install) instead of writing a PNG without text.
 */
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import { DataError } from '../errors.js';

// The SVG asks for DejaVu Sans, Helvetica, Arial, sans-serif (scene.ts); when none is installed
// resvg falls back to the first system font it loaded, so any installed font sets the text.
const OPTIONS: ResvgRenderOptions = {
  font: { loadSystemFonts: true },
  background: '#ffffff',
  // resvg's own warnings (a family falling back to another) are not errors of the plot.
  logLevel: 'error',
};

export interface FontStatus {
  ok: boolean;
  /** Why not, and what to install. */
  reason?: string;
}

/**
 * Whether resvg can set text with these font options: a probe string must leave dark pixels.
 * (Tests pass `{ loadSystemFonts: false }` to see the answer on a machine without fonts.)
 */
export function probeFonts(font: ResvgRenderOptions['font']): FontStatus {
  const probe =
    '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="30">' +
    '<text x="4" y="22" font-size="18" font-family="DejaVu Sans, sans-serif" fill="#000000">Ag 10</text></svg>';
  const px = new Resvg(probe, { ...OPTIONS, font, logLevel: 'off' }).render().pixels;
  let dark = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i]! < 128) dark++;
  if (dark > 0) return { ok: true };
  return {
    ok: false,
    reason:
      'no font for the text of the PNG plots: resvg found no usable system font ' +
      "(install one, e.g. Debian's fonts-dejavu-core: apt-get install fonts-dejavu-core)",
  };
}

let status: FontStatus | null = null;

/** probeFonts for the system fonts the plots use, once per process. */
export function fontStatus(): FontStatus {
  status ??= probeFonts(OPTIONS.font);
  return status;
}

/** Render an SVG document to PNG bytes at its own size. Throws DataError when no font can set its text. */
export function svgToPng(svg: string): Buffer {
  const fonts = fontStatus();
  if (!fonts.ok) throw new DataError(`png: ${fonts.reason}`);
  return new Resvg(svg, OPTIONS).render().asPng();
}
