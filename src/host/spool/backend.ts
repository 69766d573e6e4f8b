/**
 * Where a spool store keeps its files. The record format, the bounds and the crash rules live in
 * store.ts; a backend only lists, reads, creates, renames and removes files in one flat directory.
 * Two backends: a host directory (dir_backend.ts) and a directory on a FAT ESP image (esp_backend.ts).
 */

/** File names of a store. They differ per backend because FAT short names allow only 8.3. */
export interface SpoolNaming {
  /** The bounds file. */
  config: string;
  /** The bounds file while it is written (renamed to `config` once whole). */
  configPending: string;
  /** A completed record. */
  record(seq: number): string;
  /** A record being written (renamed to `record(seq)` once whole). */
  pending(seq: number): string;
  /** What a listed name is; undefined for names the store does not own. */
  parse(name: string): { seq: number; pending: boolean } | undefined;
}

/** One file being written. Bytes written are durable only after `flush` or `close`. */
export interface SpoolWriter {
  write(bytes: Uint8Array): Promise<void>;
  /** Puts the bytes written so far on the medium (the file exists there from now on). */
  flush(): Promise<void>;
  /** Makes the whole file durable and closes it. */
  close(): Promise<void>;
  /** Gives up: closes the file and removes whatever of it reached the medium. Never throws. */
  discard(): Promise<void>;
}

export interface SpoolBackend {
  /** For messages: `DIR` or `IMG:/path`. */
  readonly where: string;
  readonly naming: SpoolNaming;
  /** Whether the store's directory and bounds file exist. */
  exists(): Promise<boolean>;
  /** Creates the store's directory (and its parents) when missing. */
  makeDir(): Promise<void>;
  /** Names of the regular files in the store's directory. */
  list(): Promise<string[]>;
  /** A file's bytes; undefined when it cannot be read whole (a broken chain on a damaged FAT). */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Creates a new file (never overwriting) and returns its writer. */
  create(name: string): Promise<SpoolWriter>;
  rename(from: string, to: string): Promise<void>;
  /** Removes files, in the order given. */
  remove(names: string[]): Promise<void>;
}
