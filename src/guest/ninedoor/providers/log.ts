/** `/log/queen.log`: the queen log ring (NineDoor appends its lines; writers append theirs). */
import type { NineDoor } from "../ninedoor.ts";
import type { Provider } from "../provider.ts";
import { Access } from "../tree.ts";

export class LogFiles implements Provider {
  provId = -1;
  private nd: NineDoor;

  constructor(nd: NineDoor) {
    this.nd = nd;
  }

  mountNodes(): void {
    const t = this.nd.tree;
    const dir = t.addDir(0, "log", 0, 0);
    t.add(dir, "queen.log", this.provId, 0, Access.AppendOnly, 0, 0);
  }

  nodeRead(_kind: number, _arg: number, offset: number, dst: Uint8Array, dstOff: number, count: number): number {
    return this.nd.log.read(0, offset, dst, dstOff, count);
  }

  nodeWrite(_s: number, _kind: number, _arg: number, src: Uint8Array, srcOff: number, count: number): number {
    return this.nd.log.append(0, src, srcOff, count);
  }

  nodeSize(_kind: number, _arg: number): number {
    return this.nd.log.end[0];
  }

  nodeStart(_kind: number, _arg: number): number {
    return this.nd.log.start[0];
  }

  onTick(): void {}

  onClock(_nowMs: number): void {}
}
