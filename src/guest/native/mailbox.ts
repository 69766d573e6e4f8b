/** Little-endian u32 fields of the event pump's mailbox (arithmetic only: Porffor's bit operations saturate). */
export function putU32(mb: Uint8Array, at: number, v: number): void {
  mb[at] = v % 256;
  mb[at + 1] = Math.floor(v / 256) % 256;
  mb[at + 2] = Math.floor(v / 65536) % 256;
  mb[at + 3] = Math.floor(v / 16777216) % 256;
}

export function getU32(mb: Uint8Array, at: number): number {
  return mb[at] + mb[at + 1] * 256 + mb[at + 2] * 65536 + mb[at + 3] * 16777216;
}
