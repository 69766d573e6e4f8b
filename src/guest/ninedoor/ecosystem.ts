/**
 * The `[ecosystem]` extension: the policy gate on control writes (/policy, /actions), the audit
 * journal with its replay window (/audit, /replay), the host sidecar's files (/host), the field-bus
 * adapters (/bus), the GPU bridge's files (/gpu/bridge, leases, breadcrumbs, /gpu/models,
 * /queen/export/lora_jobs; `[gpu.bridge]`) and the update store (/updates; `[cas]`). Each provider
 * mounts nothing when the manifest leaves its service off.
 */
import type { BootConfig } from "../boot.ts";
import { AuditJournal } from "./audit_journal.ts";
import type { NamespaceExtension } from "./extension.ts";
import type { NineDoor } from "./ninedoor.ts";
import { PolicyGate } from "./policy_gate.ts";
import { AUDIT_NODES, AuditFiles } from "./providers/audit.ts";
import { POLICY_NODES, PolicyFiles, policyNodeCount } from "./providers/policy.ts";
import { HostFiles, hostNodeCount } from "./providers/host.ts";
import { GpuBridgeFiles, gpuBridgeNodeCount } from "./providers/gpu_bridge.ts";
import { LoraExportFiles, loraNodeCount } from "./providers/lora_export.ts";
import { BusFiles, busNodeCount } from "./providers/bus.ts";
import { CasProviders } from "./cas_extension.ts";
import type { UpdateSignatureCheck } from "../updates/update_store.ts";

export class EcosystemProviders implements NamespaceExtension {
  /** /updates (`[cas]`), the same piece a guest with only `[cas]` links on its own. */
  ecoCas: CasProviders;

  /** `updateCheck` verifies update manifests: libsodium natively, noble hosted; null refuses all. */
  constructor(updateCheck: UpdateSignatureCheck | null = null) {
    this.ecoCas = new CasProviders(updateCheck);
  }

  extNodeCount(boot: BootConfig): number {
    const eco = boot.ecosystem;
    return (eco.policy.enable ? POLICY_NODES + policyNodeCount(eco.policy) : 0) + (eco.audit.enable ? AUDIT_NODES : 0) +
      hostNodeCount(eco.host) + busNodeCount(boot.busAdapters) + gpuBridgeNodeCount(boot) +
      loraNodeCount(eco.gpuBridge.enable) + this.ecoCas.extNodeCount(boot);
  }

  extInstall(nd: NineDoor): void {
    const journal = new AuditJournal(nd);
    const gate = new PolicyGate(nd, journal);
    nd.auditLog = journal;
    nd.policyGate = gate;
    nd.register(new PolicyFiles(nd, gate, journal));
    nd.register(new AuditFiles(nd, journal));
    nd.register(new HostFiles(nd));
    nd.register(new BusFiles(nd));
    const lora = new LoraExportFiles(nd);
    nd.register(lora);
    nd.register(new GpuBridgeFiles(nd, lora));
    this.ecoCas.extInstall(nd);
  }
}
