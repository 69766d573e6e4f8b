/**
 * The replay op stream: the binary form of a parity corpus, embedded in the guest bundle as hex
 * (Porffor and seL4 cannot read files). The host compiles `tests/parity/corpus/*.replay` into it
 * (`src/host/guest_build/corpus.ts`); the guest decodes it with `OpReader`.
 *
 * Layout: a sequence of ops, each an opcode byte followed by its fields; u32 fields are four bytes,
 * little-endian; byte strings are a u32 length followed by the bytes.
 *   TARGET kind:u8                          select the guest under test (first op)
 *   OPEN   slot:u8 type:u8 kind:bytes       open a connection (type CONSOLE with a console kind, or NINEP)
 *   INPUT  slot:u8 data:bytes               feed bytes to a connection
 *   TICK   ms:u32                           advance the injected clock by ms
 *   CLOSE  slot:u8                          close a connection
 *   MARK   name:bytes                       print a mark line (native builds record the arena there)
 *   REPEAT count:u32 slot:u8 data:bytes     feed data count times; output goes to the digest, not the transcript
 *   DIGEST                                  print and reset the digest (byte count and two hashes)
 *   END
 */
export const OP = {
  END: 0,
  TARGET: 1,
  OPEN: 2,
  INPUT: 3,
  TICK: 4,
  CLOSE: 5,
  MARK: 6,
  REPEAT: 7,
  DIGEST: 8,
} as const;

/** Guests the replay can drive. */
export const TARGET = {
  /** The guest hive (`src/guest/hive.ts`). */
  HIVE: 0,
  /** The byte helpers of `src/guest/lib/bytes.ts`, through `LibProbe`. */
  PROBE: 1,
} as const;

/** Connection types for OPEN. */
export const CONN = {
  CONSOLE: 0,
  NINEP: 1,
} as const;

/** Connection slots per replay (slot numbers are 0..MAX_SLOTS-1). */
export const MAX_SLOTS = 16;
