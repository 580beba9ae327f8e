import { isoSeconds } from '../../edge/credentials';

/** Rows as aligned columns, two spaces apart, without trailing blanks; the first row is the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, c) => { widths[c] = Math.max(widths[c] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

/** Milliseconds since the epoch as `2026-11-30T21:05:00Z`, or `-` when unknown. */
export function formatTime(ms: number | null | undefined): string {
  return typeof ms === 'number' && ms > 0 ? isoSeconds(new Date(ms)) : '-';
}
