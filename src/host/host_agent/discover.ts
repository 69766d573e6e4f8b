/**
 * What the host-agent publishes: the host's services per provider, from the tools a host has
 * (`systemctl`, `docker`, `kubectl`, `nvidia-smi`, `/etc/nv_tegra_release`, the network interfaces),
 * or the fixed sample set (`--sample`). A provider whose tool is missing or fails is `absent`, with
 * the reason kept for the operator. Names are cut to the hive's alphabet ([A-Za-z0-9._:-], 64 bytes),
 * statuses to printable ASCII of 160 bytes.
 */

export type ProviderState = "present" | "absent";

export interface HostEntry {
  provider: string;
  name: string;
  status: string;
}

export interface ProviderReport {
  state: ProviderState;
  /** Why a provider is absent (the tool is missing, or what it said). */
  reason: string;
  entries: HostEntry[];
}

/** Runs a tool; null when it is not installed. */
export type ToolRunner = (cmd: string, args: string[]) => Promise<{ code: number; stdout: string; stderr: string } | null>;

export const runTool: ToolRunner = async (cmd, args) => {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) return null;
    throw e;
  }
};

export function hiveName(raw: string): string {
  return raw.replace(/[^A-Za-z0-9._:-]/g, "_").replace(/^\.+/, "_").slice(0, 64);
}

export function hiveStatus(raw: string): string {
  const s = raw.replace(/[^\x20-\x7e]/g, " ").replace(/\s+/g, " ").trim().slice(0, 160);
  return s === "" ? "unknown" : s;
}

function absent(reason: string): ProviderReport {
  return { state: "absent", reason, entries: [] };
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Runs a tool and turns its lines into entries; absent when it is missing or fails. */
async function fromTool(
  provider: string,
  run: ToolRunner,
  cmd: string,
  args: string[],
  parse: (line: string) => [string, string] | null,
): Promise<ProviderReport> {
  const r = await run(cmd, args);
  if (r === null) return absent(`${cmd} is not installed`);
  if (r.code !== 0) return absent(`${cmd} exited ${r.code}: ${hiveStatus(r.stderr || r.stdout).slice(0, 120)}`);
  const entries: HostEntry[] = [];
  for (const l of lines(r.stdout)) {
    const p = parse(l);
    if (p !== null) entries.push({ provider, name: hiveName(p[0]), status: hiveStatus(p[1]) });
  }
  return { state: "present", reason: "", entries };
}

/** Parsers of each tool's output, exported for tests with recorded outputs. */
export const PARSERS = {
  /** `systemctl list-units --type=service --all --no-legend --plain`: UNIT LOAD ACTIVE SUB DESCRIPTION… */
  systemd(line: string): [string, string] | null {
    const f = line.split(/\s+/);
    return f.length >= 4 && f[0].endsWith(".service") ? [f[0], `${f[2]} (${f[3]})`] : null;
  },
  /** `docker ps -a --format '{{.Names}}\t{{.State}}\t{{.Status}}'`. */
  docker(line: string): [string, string] | null {
    const f = line.split("\t");
    return f.length >= 2 ? [f[0], f.slice(1).join(" ")] : null;
  },
  /** `kubectl get nodes --no-headers`: NAME STATUS ROLES AGE VERSION. */
  k8s(line: string): [string, string] | null {
    const f = line.split(/\s+/);
    return f.length >= 2 ? [f[0], f[1]] : null;
  },
  /** `nvidia-smi --query-gpu=uuid,name,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
  nvidia(line: string): [string, string] | null {
    const f = line.split(",").map((x) => x.trim());
    return f.length >= 5 ? [f[0], `${f[1]} util=${f[2]}% mem=${f[3]}/${f[4]}MiB`] : null;
  },
};

export async function discover(provider: string, run: ToolRunner = runTool): Promise<ProviderReport> {
  switch (provider) {
    case "systemd":
      return await fromTool(provider, run, "systemctl", ["list-units", "--type=service", "--all", "--no-legend", "--plain", "--no-pager"], PARSERS.systemd);
    case "docker":
      return await fromTool(provider, run, "docker", ["ps", "-a", "--format", "{{.Names}}\t{{.State}}\t{{.Status}}"], PARSERS.docker);
    case "k8s":
      return await fromTool(provider, run, "kubectl", ["get", "nodes", "--no-headers"], PARSERS.k8s);
    case "nvidia":
      return await fromTool(provider, run, "nvidia-smi", [
        "--query-gpu=uuid,name,utilization.gpu,memory.used,memory.total",
        "--format=csv,noheader,nounits",
      ], PARSERS.nvidia);
    case "jetson": {
      try {
        const release = await Deno.readTextFile("/etc/nv_tegra_release");
        return { state: "present", reason: "", entries: [{ provider, name: "tegra", status: hiveStatus(release.split("\n")[0]) }] };
      } catch {
        return absent("/etc/nv_tegra_release is not there (not a Jetson)");
      }
    }
    case "net": {
      const byName = new Map<string, string[]>();
      for (const i of Deno.networkInterfaces()) byName.set(i.name, [...(byName.get(i.name) ?? []), `${i.address}/${i.cidr.split("/")[1]}`]);
      const entries = [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, addrs]) => ({
        provider,
        name: hiveName(name),
        status: hiveStatus(`up ${addrs.join(" ")}`),
      }));
      return { state: "present", reason: "", entries };
    }
    default:
      return absent(`no discovery for provider '${provider}'`);
  }
}

/** The fixed set `--sample` publishes, for demos and tests (providers the hive does not mount are skipped). */
export function sampleReport(provider: string): ProviderReport {
  const e = (name: string, status: string): HostEntry => ({ provider, name, status });
  switch (provider) {
    case "systemd":
      return { state: "present", reason: "", entries: [e("cohesix-agent.service", "active (running)"), e("sshd.service", "active (running)")] };
    case "k8s":
      return { state: "present", reason: "", entries: [e("node-1", "Ready"), e("node-2", "Ready")] };
    case "docker":
      return { state: "present", reason: "", entries: [e("registry", "running Up 3 hours")] };
    case "nvidia":
      return { state: "present", reason: "", entries: [e("GPU-0", "NVIDIA A100-SXM4-40GB util=0% mem=0/40960MiB")] };
    default:
      return absent("not in the sample set");
  }
}
