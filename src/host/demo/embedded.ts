/**
 * Runs a .coh script against a fresh in-process hive over one transport (tcp console, 9P, or an
 * in-process serial byte stream), with a fixed injected clock: the transcript depends only on the
 * script and the checkout. Used by `cohesix demo` and the golden transcript tests.
 */
import { runScriptText } from "../cohsh/command.ts";
import { ConsoleClient } from "../cohsh/client.ts";
import { openSession, type TransportKind } from "../cohsh/connect.ts";
import { type CohshSession, Shell } from "../cohsh/shell.ts";
import { SerialTransport } from "../cohsh/transport.ts";
import { HostedHive } from "../dev/runtime.ts";
import type { BootConfig } from "../../guest/boot.ts";

const TOKEN = "cohesix-demo";

/** Opens one session to a fresh in-process hive over `transport`, runs `body`, stops the hive. */
export async function runEmbeddedSession<T>(
  transport: TransportKind,
  body: (session: CohshSession) => Promise<T>,
  boot?: BootConfig,
): Promise<T> {
  const hive = HostedHive.start({ ninepPort: 0, consolePort: 0, authToken: TOKEN, clock: () => 0, boot });
  let serial: Promise<void> | null = null;
  try {
    let session: CohshSession;
    if (transport === "serial") {
      const toHive = new TransformStream<Uint8Array, Uint8Array>();
      const fromHive = new TransformStream<Uint8Array, Uint8Array>();
      serial = hive.serveSerial(toHive.readable, fromHive.writable);
      session = new Shell(new ConsoleClient(SerialTransport.fromStreams("serial (in-process)", fromHive.readable, toHive.writable), 5000));
    } else {
      const port = transport === "9p" ? hive.ninepPort : hive.consolePort;
      session = await openSession({ transport, hostname: hive.hostname, port, authToken: TOKEN, timeoutMs: 5000 });
    }
    return await body(session);
  } finally {
    await hive.stop();
    if (serial) await serial.catch(() => {});
  }
}

export function runEmbedded(
  text: string,
  name: string,
  transport: TransportKind,
  out: (line: string) => void,
  err: (line: string) => void,
  boot?: BootConfig,
): Promise<number> {
  return runEmbeddedSession(transport, (session) => runScriptText(() => Promise.resolve(session), text, name, out, err), boot);
}
