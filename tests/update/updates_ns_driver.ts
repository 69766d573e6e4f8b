/**
 * Guest-side driver of the /updates parity run (tests/update/updates_porf_test.ts): a NineDoor booted
 * from the boot tables it is given, with the [ecosystem] extension over the update check it is given,
 * fed steps through the Namespace API — mkdir, a write of hex bytes (in pieces), a read, a remove —
 * each answered as text lines in one ByteWriter. The hosted run passes HostedUpdateSignatureCheck;
 * the porf run passes PlatformUpdateSignatureCheck with the Wasm host answering its mailbox. One
 * driver for both, so the lines can only differ by what the guest code does under each compiler.
 * Porffor rules: allocated in the constructor, no closures, fields prefixed `und`.
 */
import { newU8 } from "../../src/secure9p/alloc.ts";
import { ByteWriter } from "../../src/guest/lib/bytes.ts";
import { printWriterLines } from "../support/guest_print.ts";
import { NsDriver } from "../support/ns_driver.ts";
import { hexPiecesInto } from "../support/hex_pieces.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";
import type { UpdateSignatureCheck } from "../../src/guest/updates/update_store.ts";

const PIECE = 1500;

export class UpdatesNsRun {
  undNd: NineDoor;
  undSess: number;
  undBuf: Uint8Array;
  undName: Uint8Array;
  undNs: NsDriver;
  undOut: ByteWriter;

  constructor(boot: BootConfig, check: UpdateSignatureCheck) {
    this.undNd = new NineDoor(boot, null, new EcosystemProviders(check));
    this.undNd.advance(1000);
    this.undSess = this.undNd.attach("queen", "");
    this.undBuf = newU8(16384);
    this.undName = newU8(256);
    this.undNs = new NsDriver(this.undNd, this.undSess, 256, 8);
    this.undOut = new ByteWriter(16384);
  }

  /** One step: "mkdir", "write" (hex pieces `data`), "read" or "remove" on `path`. */
  undStep(op: string, path: string, data: string[]): void {
    const nd = this.undNd;
    const s = this.undSess;
    const w = this.undOut;
    w.ascii(op);
    w.byte(32);
    w.ascii(path);
    w.byte(32);
    if (op === "mkdir") {
      const dir = this.undNs.nsdWalk(path, true);
      const at = path.lastIndexOf("/") + 1;
      const n = path.length - at;
      const name = this.undName;
      for (let k = 0; k < n; k++) name[k] = path.charCodeAt(at + k);
      let r = dir;
      if (dir >= 0) {
        r = nd.mkdir(s, dir, this.undName, 0, n, 493);
        if (r >= 0) nd.clunk(s, r);
        nd.clunk(s, dir);
      }
      w.labelUint(r < 0 ? "-" : "", r < 0 ? -r : 0);
    } else if (op === "remove") {
      const node = this.undNs.nsdWalk(path, false);
      let r = node;
      if (node >= 0) {
        r = nd.remove(s, node);
        nd.clunk(s, node);
      }
      w.labelUint(r < 0 ? "-" : "", r < 0 ? -r : 0);
    } else {
      const node = this.undNs.nsdWalk(path, false);
      let r = node;
      if (node >= 0) r = nd.open(s, node, op === "write" ? 1 : 0);
      if (r >= 0 && op === "write") {
        const len = hexPiecesInto(data, this.undBuf);
        // A manifest in pieces, as a client splits it at its iounit (the last write's answer counts);
        // a chunk is one write.
        const step = path.indexOf("/chunks/") < 0 ? PIECE : len;
        for (let off = 0; off < len && r >= 0; off += step) {
          const piece = len - off < step ? len - off : step;
          r = nd.write(s, node, 0, 0, this.undBuf, off, piece);
        }
      } else if (r >= 0) r = nd.read(s, node, 0, 0, this.undBuf, 0, this.undBuf.length);
      if (node >= 0) nd.clunk(s, node);
      w.labelUint(r < 0 ? "-" : "", r < 0 ? -r : r);
      if (op === "read" && r > 0) {
        w.byte(10);
        // Text files as they are; a binary chunk as its first 8 bytes in decimal.
        if (path.indexOf("/chunks/") < 0) w.bytes(this.undBuf, 0, r);
        else for (let k = 0; k < 8; k++) w.labelUint(" ", this.undBuf[k]);
      }
    }
    w.byte(10);
  }

  /** Prints the writer's lines (guest entries) and empties it. */
  undPrint(): void {
    printWriterLines(this.undOut);
  }
}
