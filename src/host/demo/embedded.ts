/**
 * Runs a .coh script against a fresh in-process hive over one transport (tcp console, 9P, or an
 * in-process serial byte stream), with a fixed injected clock: the transcript depends only on the
 * script and the checkout. Used by `cohesix demo` and the golden transcript tests.
 */
import { runScriptText } from "../cohsh/command.ts";
import { ConsoleClient } from "../cohsh/client.ts";
import type { TransportKind } from "../cohsh/connect.ts";
import { Shell } from "../cohsh/shell.ts";
import { SerialTransport } from "../cohsh/transport.ts";
import { HostedHive } from "../dev/runtime.ts";
import type { BootConfig } from "../../guest/boot.ts";

const TOKEN = "cohesix-demo";

export async function runEmbedded(
  text: string,
  name: string,
  transport: TransportKind,
  out: (line: string) => void,
  err: (line: string) => void,
  boot?: BootConfig,
): Promise<number> {
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0, authToken: TOKEN, clock: () => 0, boot });
  let serial: Promise<void> | null = null;
  try {
    if (transport === "serial") {
      const toHive = new TransformStream<Uint8Array, Uint8Array>();
      const fromHive = new TransformStream<Uint8Array, Uint8Array>();
      serial = hive.serveSerial(toHive.readable, fromHive.writable);
      const t = SerialTransport.fromStreams("serial (in-process)", fromHive.readable, toHive.writable);
      return await runScriptText(() => Promise.resolve(new Shell(new ConsoleClient(t, 5000))), text, name, out, err);
    }
    const port = transport === "9p" ? hive.ninepPort : hive.consolePort;
    return await runScriptText({ transport, hostname: hive.hostname, port, authToken: TOKEN, timeoutMs: 5000 }, text, name, out, err);
  } finally {
    await hive.stop();
    if (serial) await serial.catch(() => {});
  }
}
