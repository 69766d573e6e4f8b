/**
 * What the replay drives: the `Hive` surface from DEVELOPERS.md ("Contracts between parts").
 * `LibProbe` implements the same surface over the byte helpers alone.
 */
export interface ReplayTarget {
  advance(nowMs: number): void;
  /** Opens a console connection of the given kind; returns its id (>= 0) or -errno. */
  openConsole(kind: string): number;
  /** Opens a 9P connection; returns its id (>= 0) or -errno. */
  openNinep(): number;
  /** Feeds src[off..off+len); returns bytes consumed (>= 0) or -errno. */
  input(id: number, src: Uint8Array, off: number, len: number): number;
  /** Drains up to max output bytes into dst at dstOff; returns the count. */
  output(id: number, dst: Uint8Array, dstOff: number, max: number): number;
  /** True once the guest closed the connection (after its output was drained). */
  closed(id: number): boolean;
  close(id: number): void;
}
