/**
 * Generation-counted handles, shared by the session table and the node tree: a handle is
 * `gen * SLOT_SPAN + slot`, and freeing a slot bumps its generation, so a handle kept after the
 * slot was freed no longer resolves.
 */

export const SLOT_SPAN = 65536;
const GEN_WRAP = 32767;

/** The handle of `slot` at its current generation. */
export function slotHandle(gen: Int32Array, slot: number): number {
  return gen[slot] * SLOT_SPAN + slot;
}

/** The live slot a handle names, or -1 when the handle is malformed, out of range or stale. */
export function liveSlotOf(handle: number, cap: number, live: Uint8Array, gen: Int32Array): number {
  if (!(handle >= 0)) return -1;
  const slot = handle % SLOT_SPAN;
  if (slot >= cap || live[slot] === 0) return -1;
  if (Math.floor(handle / SLOT_SPAN) !== gen[slot]) return -1;
  return slot;
}

/** The generation after `g` (wraps to 1, never 0). */
export function nextGen(g: number): number {
  return g >= GEN_WRAP ? 1 : g + 1;
}
