/**
 * Guest-side driver of the update vector set (tests/native/update_vectors.ts): one UpdateStore over
 * the signature check it is given, fed a table of steps — a manifest for an epoch, a chunk for an
 * epoch, a status read — each written as text lines into one ByteWriter. The hosted run passes
 * HostedUpdateSignatureCheck and decodes the writer; the guest entries pass
 * PlatformUpdateSignatureCheck and print the writer's lines (under porf Wasm, qemu-aarch64, seL4).
 * One driver for every run, so the lines can only differ by what the checks answer.
 * Porffor rules: allocated in the constructor, no closures, fields prefixed `uvr`, typed-array
 * fields written through a local alias.
 */
import { newU8 } from "../../src/secure9p/alloc.ts";
import { ByteWriter } from "../../src/guest/lib/bytes.ts";
import { printWriterLines } from "../support/guest_print.ts";
import { hexPiecesInto } from "../support/hex_pieces.ts";
import { type UpdateSignatureCheck, UpdateStore, ustReason } from "../../src/guest/updates/update_store.ts";

/** The store of the vector run: 128-byte chunks, 16 slots, up to 512 chunks and 8 epochs. */
export const UVR_CHUNK_BYTES = 128;
export const UVR_STORE_BYTES = 16 * UVR_CHUNK_BYTES;
export const UVR_MAX_CHUNKS = 512;
export const UVR_MAX_EPOCHS = 8;
/** Largest manifest or chunk a step carries. */
export const UVR_BUF_BYTES = 32 * 1024;

export class UpdateVectorRun {
  uvrStore: UpdateStore;
  uvrBuf: Uint8Array;
  uvrName: Uint8Array;
  uvrOut: ByteWriter;

  constructor(check: UpdateSignatureCheck) {
    this.uvrStore = new UpdateStore(UVR_STORE_BYTES, UVR_CHUNK_BYTES, UVR_MAX_CHUNKS, UVR_MAX_EPOCHS, check);
    this.uvrBuf = newU8(UVR_BUF_BYTES);
    this.uvrName = newU8(32);
    this.uvrOut = new ByteWriter(64 * 1024);
  }

  /** Decimal text to a number. */
  uvrNumber(text: string): number {
    let v = 0;
    for (let i = 0; i < text.length; i++) v = v * 10 + text.charCodeAt(i) - 48;
    return v;
  }

  uvrStatus(epoch: number): void {
    const w = this.uvrOut;
    if (!this.uvrStore.ustStatus(epoch, w, 2)) w.ascii("no status\n");
  }

  /**
   * One step: kind "m" (manifest hex `a` for `epoch`), "c" (chunk: name hex `a`, bytes hex `b`) or
   * "s" (status); `label` names it in the line.
   */
  uvrStep(kind: string, label: string, epochText: string, a: string[], b: string[]): void {
    const w = this.uvrOut;
    const epoch = this.uvrNumber(epochText);
    const buf = this.uvrBuf;
    if (kind === "m") {
      const len = hexPiecesInto(a, buf);
      const code = this.uvrStore.ustManifest(epoch, buf, len);
      w.ascii("vector ");
      w.ascii(label);
      w.labelUint(" epoch=", epoch);
      w.ascii(" ");
      w.ascii(ustReason(code));
      w.byte(10);
      this.uvrStatus(epoch);
    } else if (kind === "c") {
      hexPiecesInto(a, this.uvrName);
      const len = hexPiecesInto(b, buf);
      const code = this.uvrStore.ustChunk(epoch, this.uvrName, 0, buf, 0, len);
      w.ascii("chunk ");
      w.ascii(label);
      w.labelUint(" epoch=", epoch);
      if (code >= 0) w.labelUint(" stored=", code);
      else {
        w.ascii(" ");
        w.ascii(ustReason(code));
      }
      w.byte(10);
    } else {
      w.ascii("status ");
      w.ascii(label);
      w.labelUint(" epoch=", epoch);
      w.byte(10);
      this.uvrStatus(epoch);
    }
  }

  /** Prints the writer's lines (guest entries) and empties it. */
  uvrPrint(): void {
    printWriterLines(this.uvrOut);
  }
}
