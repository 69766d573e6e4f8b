/**
 * The bus sidecar's offline spool: device lines kept while the hive is unreachable, bounded by the
 * adapter's `spool.max_entries` and `spool.max_bytes` (the hive's `/bus/<a>/spool` says which). When
 * full, the oldest line leaves and is counted, so a long outage keeps the newest readings.
 */
export interface SpooledLine {
  seq: number;
  line: string;
}

export class Spool {
  private lines: SpooledLine[] = [];
  private bytes = 0;
  dropped = 0;

  constructor(readonly maxEntries: number, readonly maxBytes: number) {}

  push(item: SpooledLine): void {
    const size = item.line.length + 1;
    if (size > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.lines.push(item);
    this.bytes += size;
    while (this.lines.length > this.maxEntries || this.bytes > this.maxBytes) {
      const old = this.lines.shift()!;
      this.bytes -= old.line.length + 1;
      this.dropped++;
    }
  }

  get size(): number {
    return this.lines.length;
  }

  /** The oldest line, left in place until `shift` (a failed flush keeps it). */
  peek(): SpooledLine | undefined {
    return this.lines[0];
  }

  shift(): void {
    const old = this.lines.shift();
    if (old) this.bytes -= old.line.length + 1;
  }
}
