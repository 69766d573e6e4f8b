/** A `cohesix dev` hive in its own process for the benchmarks, with the ports it reported. */
export interface DevHive {
  ninep: number;
  console: number;
  child: Deno.ChildProcess;
  stop(): Promise<void>;
}

/** The first line a spawned process prints on its piped stdout (its ready line); throws if it exits first. */
export async function firstStdoutLine(child: Deno.ChildProcess, what: string): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} exited before printing its ready line`);
    text += value;
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf("\n"));
}

/** Starts `cohesix dev --ninep-port 0 --console-port 0 --json [extra]` and waits for its ports line. */
export async function startDevHive(extra: string[] = []): Promise<DevHive> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../src/main.ts", import.meta.url).pathname, "dev", "--ninep-port", "0", "--console-port", "0", "--json", ...extra],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const doc = JSON.parse(await firstStdoutLine(child, "cohesix dev"));
  return {
    ninep: doc.ninep.port,
    console: doc.console.port,
    child,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}
