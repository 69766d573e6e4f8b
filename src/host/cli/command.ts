/**
 * The contract every `cohesix` subcommand implements, plus the shared flag parser.
 * `src/main.ts` is only the table of these; each subcommand lives in its own module.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { NineError } from "../../secure9p/host/client.ts";
import { TransportError } from "../../secure9p/host/conn.ts";

export interface Subcommand {
  /** Name typed after `cohesix`. */
  name: string;
  /** One line for `cohesix --help`. */
  summary: string;
  /** Full `--help` text: usage, flags, and example invocations. */
  help: string;
  /** Runs the subcommand; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A user-input error: printed as one line with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint = "") {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The one-line message of an error met while talking to a hive (refused or dropped connection, a 9P
 * refusal), printed instead of a stack trace with exit code 1; null for anything else (a bug).
 */
export function hiveErrorMessage(err: unknown): string | null {
  if (err instanceof TransportError || err instanceof NineError) return err.message;
  if (err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.ConnectionReset) {
    return `${err.message} (is the hive running? start one with 'cohesix dev')`;
  }
  return null;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses flags strictly. Unknown flags and missing values become a UsageError that names the
 * subcommand's `--help`, so every subcommand fails the same way on bad input.
 */
export function parseFlags<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UsageError(`${command}: ${message}`, `run 'cohesix ${command} --help' for usage`);
  }
}

/** Parses a TCP port flag value, refusing anything that is not 0..65535. */
export function parsePort(command: string, flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`${command}: --${flag} must be a port number 0..65535, got '${value}'`);
  }
  return port;
}

/** Resolves with the signal's name when SIGINT (Ctrl-C) or SIGTERM arrives: how long-running commands stop. */
export async function untilStopSignal(): Promise<string> {
  const stopped = Promise.withResolvers<string>();
  const onInt = () => stopped.resolve("SIGINT");
  const onTerm = () => stopped.resolve("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    return await stopped.promise;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}
