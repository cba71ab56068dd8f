/**
 * Tables in the thesis's format: one row per method (or variant), one column per training size (or
 * method), each cell "mean (std)" of the test accuracy in percent over seeds at the selected lambda,
 * the best cell of each column (or row) in bold. Written as Markdown and as CSV (one line per cell,
 * with the chosen lambda and the number of seeds).
 */

export interface Cell {
  row: string;
  col: string;
  /** Accuracies in percent. */
  mean: number;
  std: number;
  /** Seeds that entered the mean. */
  n: number;
  /** Seeds planned for the cell; when n is fewer the cell is marked [n=n/planned]. */
  planned?: number;
  /** The selected lambda (null for methods without one). */
  lambda: number | null;
}

export interface Table {
  title: string;
  /** Row and column labels, in display order. */
  rows: string[];
  cols: string[];
  /** Header of the row-label column. */
  corner?: string;
  cells: Cell[];
  /** Bold the best (highest) mean of each column ('column', as the thesis), of each row, or none. */
  bestAlong: 'column' | 'row' | 'none';
  /** 'accuracy': mean to 3 decimals, std to 2 (the thesis); 'general': 4 significant digits each. */
  format?: 'accuracy' | 'general';
  /** Lines printed under the table (how lambda was chosen, what was run). */
  notes: string[];
}

export function fmtMean(v: number, format: Table['format'] = 'accuracy'): string {
  return format === 'general' ? fmtGeneral(v) : v.toFixed(3);
}

export function fmtStd(v: number, format: Table['format'] = 'accuracy'): string {
  return format === 'general' ? fmtGeneral(v) : v.toFixed(2);
}

function fmtGeneral(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-4 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

function cellAt(t: Table, row: string, col: string): Cell | undefined {
  return t.cells.find((c) => c.row === row && c.col === col);
}

/** The cells holding the best mean along each column (or row); ties are all bold. */
export function bestCells(t: Table): Set<Cell> {
  const best = new Set<Cell>();
  if (t.bestAlong === 'none') return best;
  const lines = t.bestAlong === 'column' ? t.cols : t.rows;
  for (const line of lines) {
    const cs = t.cells.filter((c) => (t.bestAlong === 'column' ? c.col : c.row) === line && Number.isFinite(c.mean));
    // compare at the printed precision, so equal-looking cells are treated alike
    const top = Math.max(...cs.map((c) => Number(fmtMean(c.mean, t.format))));
    for (const c of cs) if (Number(fmtMean(c.mean, t.format)) === top) best.add(c);
  }
  return best;
}

export function formatCell(c: Cell | undefined, bold: boolean, format: Table['format'] = 'accuracy'): string {
  if (!c || c.n === 0 || !Number.isFinite(c.mean)) return '-';
  const m = fmtMean(c.mean, format);
  const partial = c.planned !== undefined && c.n < c.planned ? ` [n=${c.n}/${c.planned}]` : '';
  return `${bold ? `**${m}**` : m} (${fmtStd(c.std, format)})${partial}`;
}

export function toMarkdown(t: Table): string {
  const best = bestCells(t);
  const lines = [`**${t.title}**`, ''];
  lines.push(`| ${t.corner ?? ''} | ${t.cols.join(' | ')} |`);
  lines.push(`|${[t.corner ?? '', ...t.cols].map(() => ' --- ').join('|')}|`);
  for (const r of t.rows) {
    lines.push(`| ${r} | ${t.cols.map((c) => {
      const cell = cellAt(t, r, c);
      return formatCell(cell, cell !== undefined && best.has(cell), t.format);
    }).join(' | ')} |`);
  }
  if (t.notes.length) lines.push('', ...t.notes);
  return `${lines.join('\n')}\n`;
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(t: Table): string {
  const best = bestCells(t);
  const lines = [[t.corner || 'row', 'col', 'mean', 'std', 'n', 'lambda', 'best'].join(',')];
  for (const r of t.rows) {
    for (const c of t.cols) {
      const cell = cellAt(t, r, c);
      if (!cell) continue;
      lines.push([r, c, Number.isFinite(cell.mean) ? cell.mean.toFixed(4) : '', Number.isFinite(cell.std) ? cell.std.toFixed(4) : '', cell.n, cell.lambda, best.has(cell) ? 1 : 0].map(csvField).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The table as plain text for a terminal: aligned columns, best cells marked with '*'. */
export function toText(t: Table): string {
  const best = bestCells(t);
  const head = [t.corner ?? '', ...t.cols];
  const body = t.rows.map((r) => [r, ...t.cols.map((c) => {
    const cell = cellAt(t, r, c);
    const s = formatCell(cell, false, t.format);
    return cell && best.has(cell) ? `*${s}` : s;
  })]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i]!.length)));
  const fmt = (row: string[]): string => row.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  return [t.title, fmt(head), ...body.map(fmt), ...(t.notes.length ? ['', ...t.notes] : [])].join('\n') + '\n';
}
