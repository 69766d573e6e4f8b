/** A `cohesix dev` process for end-to-end tests that talk to a hive through the CLI. */

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;

/**
 * Runs `cohesix dev --console-port 0 --ninep-port 0 --json`, calls `fn` with the console port from
 * the first JSON line it prints, then stops it with SIGTERM (also when `fn` or the start fails).
 */
export function withDevProcess(fn: (consolePort: number) => Promise<void>): Promise<void> {
  return withDevPorts(({ consolePort }) => fn(consolePort));
}

/** withDevProcess, giving both ports the hive reported; `extraArgs` go to `cohesix dev` (e.g. --manifest). */
export async function withDevPorts(
  fn: (ports: { consolePort: number; ninepPort: number }) => Promise<void>,
  extraArgs: string[] = [],
): Promise<void> {
  const dev = new Deno.Command(COHESIX, {
    args: ["dev", "--console-port", "0", "--ninep-port", "0", "--json", ...extraArgs],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = dev.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let first = "";
    while (!first.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`cohesix dev exited before printing its ports: ${first}`);
      first += value;
    }
    const doc = JSON.parse(first.slice(0, first.indexOf("\n")));
    await fn({ consolePort: doc.console.port, ninepPort: doc.ninep.port });
  } finally {
    dev.kill("SIGTERM");
    await reader.cancel();
    await dev.stderr.cancel();
    await dev.status;
  }
}
