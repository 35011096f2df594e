/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */

const WIDTH = 30;
const REDRAW_MS = 100;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Shows bytes done against an estimate. The estimate may be off (the engine's guess), so
 * past it the bar shows bytes alone. Nothing is drawn when stderr is not a terminal, so
 * scripts and logs get only the final result line on stdout.
 */
export class ProgressBar {
  private done = 0;
  private drawnAt = 0;
  private readonly started = performance.now();
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private total = 0,
    stream: NodeJS.WriteStream = process.stderr,
    private readonly out: NodeJS.WriteStream = stream,
  ) {
    this.enabled = stream.isTTY;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  advance(bytes: number): void {
    this.done += bytes;
    const now = performance.now();
    if (!this.enabled || now - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = now;
    this.draw(now);
  }

  /** Clears the line, leaving the terminal as it was. */
  finish(): void {
    if (this.enabled) this.out.write('\r\x1b[K');
  }

  private draw(now: number): void {
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    const known = this.total > 0 && this.done <= this.total;
    const bar = known
      ? `[${'#'.repeat(Math.round((this.done / this.total) * WIDTH)).padEnd(WIDTH, '-')}] ${Math.floor((this.done / this.total) * 100)}% `
      : '';
    const of = known ? ` / ~${formatBytes(this.total)}` : '';
    this.out.write(`\r\x1b[K${this.label} ${bar}${formatBytes(this.done)}${of} (${formatBytes(rate)}/s)`);
  }
}
