/**
 * The `[cas]` extension alone: /updates (signed content-addressed updates) without the rest of the
 * [ecosystem] providers, for a native guest whose manifest turns on updates and nothing else of the
 * extension; EcosystemProviders installs /updates through it too.
 */
import type { BootConfig } from "../boot.ts";
import type { NamespaceExtension } from "./extension.ts";
import type { NineDoor } from "./ninedoor.ts";
import { UpdateFiles, updatesNodeCount } from "./providers/updates.ts";
import { NoUpdateVerifier, type UpdateSignatureCheck } from "../updates/update_store.ts";

export class CasProviders implements NamespaceExtension {
  casUpdateCheck: UpdateSignatureCheck;

  constructor(updateCheck: UpdateSignatureCheck | null = null) {
    this.casUpdateCheck = updateCheck === null ? new NoUpdateVerifier() : updateCheck;
  }

  extNodeCount(boot: BootConfig): number {
    return updatesNodeCount(boot.cas);
  }

  extInstall(nd: NineDoor): void {
    nd.register(new UpdateFiles(nd, this.casUpdateCheck));
  }
}
