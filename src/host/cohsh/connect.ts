/** Opens a cohsh session over the chosen transport (tcp console, serial console, or 9P). */
import { ConsoleClient } from "./client.ts";
import { NinepShell } from "./ninep_shell.ts";
import { type CohshSession, Shell } from "./shell.ts";
import { SerialTransport } from "./transport.ts";
import { RecordingSession } from "./record.ts";
import type { ClientPolicy } from "../../codegen/emit/client_policy.ts";

export type TransportKind = "tcp" | "9p" | "serial";

export interface CohshTarget {
  transport: TransportKind;
  hostname: string;
  /** Console port (tcp) or 9P port (9p). */
  port: number;
  authToken: string;
  timeoutMs: number;
  /** serial: a command whose stdin/stdout is the console. */
  serialCmd?: string;
  /** serial: a Unix socket carrying the console. */
  serialPath?: string;
  /** Write a replayable trace of the session to this file (`--record`). */
  record?: string;
  /** Pool sizes, retry schedule and heartbeat (`--policy`); the compiled default when absent. */
  policy?: ClientPolicy;
}

export async function openSession(t: CohshTarget): Promise<CohshSession> {
  const s = await openPlain(t);
  return t.record === undefined ? s : new RecordingSession(s, t.transport, t.record);
}

async function openPlain(t: CohshTarget): Promise<CohshSession> {
  const s = await openShell(t);
  if (t.policy !== undefined) s.policy = t.policy;
  return s;
}

async function openShell(t: CohshTarget): Promise<Shell | NinepShell> {
  if (t.transport === "9p") return await NinepShell.dial(t.hostname, t.port);
  if (t.transport === "serial") {
    if (t.serialPath !== undefined) {
      const open = async () => new ConsoleClient(await SerialTransport.connectUnix(t.serialPath!), t.timeoutMs);
      return new Shell(await open(), open);
    }
    return new Shell(new ConsoleClient(SerialTransport.spawn(t.serialCmd!), t.timeoutMs));
  }
  const open = () => ConsoleClient.connectTcp(t.hostname, t.port, t.authToken, t.timeoutMs);
  return new Shell(await open(), open);
}
