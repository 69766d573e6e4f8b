/**
 * The one CBOR configuration of the host tools' signed documents (tickets, update manifests): plain
 * arrays and maps, no records or tags, so the same value always encodes to the same bytes and the
 * guest's strict readers see only the shapes they expect.
 */
import { Decoder, Encoder } from "cbor-x";

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
});
const decoder = new Decoder(
  { useRecords: false, mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0],
);

export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

/** Decodes one CBOR item; throws cbor-x's error on malformed input. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
