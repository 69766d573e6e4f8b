/** `cohesix mount` and `cohesix umount`: a hive's Secure9P namespace as a directory, through FUSE. */
import { resolve } from "node:path";
import { errnoName } from "../../secure9p/errors.ts";
import { NineError } from "../../secure9p/host/client.ts";
import { parseFlags, parsePort, type Subcommand, UsageError } from "../cli/command.ts";
import { FuseSession } from "./fuse_session.ts";
import { HiveFs } from "./hive_fs.ts";
import { HiveLink } from "./hive_link.ts";
import { fuseMountAt, fusermountUnmount, mountState } from "./mounts.ts";

const MOUNT_HELP = `cohesix mount: the hive's namespace as a directory (FUSE)

Usage: cohesix mount [--host H] [--port P] [--role R] [--ticket T] [--cache-seconds S] [--json] DIR

Attaches to the hive's Secure9P service (9P2000.L) as role R and mounts its namespace at DIR
through the kernel's FUSE (libfuse3), so ls, cat, grep, tail -f, editors and scripts work on it.
Runs in the foreground until Ctrl-C or SIGTERM (then unmounts) or 'cohesix umount DIR' from
another shell. A mount left behind by a killed 'cohesix mount' is detected and cleared.

How the files behave:
  - append-only files (/log/queen.log, worker telemetry) and control files (/queen/ctl) take
    '>>' and '>' alike (every write lands at the end), refuse seeks when opened for writing
    (ESPIPE) and truncation (EPERM)
  - read-only files refuse opening for write (EROFS); what the role may not touch is EPERM, and
    the hive writes its audit line to /log/queen.log
  - sizes are live (stat matches what cat reads) and reads bypass the page cache, so tail -f
    follows telemetry and logs; listings are read afresh each time (workers come and go)
  - if the hive restarts, the mount re-attaches with the same role and ticket: calls in flight
    fail with EIO, later ones work; while the hive is unreachable calls fail with EIO at once

Flags:
  --host H             hive address (default 127.0.0.1)
  --port P             hive 9P port (default 5640)
  --role R             role to attach as (default queen; observer, worker-heartbeat, …)
  --ticket T           ticket for the role (cht1.…; see 'cohesix ticket mint')
  --cache-seconds S    let the kernel cache attributes and names for S seconds (default 0:
                       always fresh; a cache makes stat faster and sizes up to S seconds old)
  --json               print {"version":1,"mountpoint":…,"pid":…} on stdout once mounted
  --debug              log every FUSE request (libfuse -d) on stderr

Examples:
  cohesix dev & mkdir -p /tmp/hive && cohesix mount /tmp/hive &
  cat /tmp/hive/proc/boot
  echo '{"spawn":"heartbeat","ticks":30}' > /tmp/hive/queen/ctl && ls /tmp/hive/worker
  tail -f /tmp/hive/worker/worker-1/telemetry
  cohesix mount --role observer /tmp/obs      # read-only view: writes fail with EPERM
  cohesix umount /tmp/hive
`;

export const mountCommand: Subcommand = {
  name: "mount",
  summary: "mount a hive's namespace as a directory through FUSE",
  help: MOUNT_HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags("mount", argv, {
      host: { type: "string" },
      port: { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      "cache-seconds": { type: "string" },
      json: { type: "boolean" },
      debug: { type: "boolean" },
    }, true);
    if (positionals.length !== 1) {
      throw new UsageError(
        "mount: give exactly one directory to mount at",
        "run 'cohesix mount --help' for usage",
      );
    }
    const cacheSeconds = Number(values["cache-seconds"] ?? "0");
    if (!Number.isFinite(cacheSeconds) || cacheSeconds < 0) {
      throw new UsageError(`mount: --cache-seconds must be a number >= 0, got '${values["cache-seconds"]}'`);
    }
    const dir = resolve(positionals[0]);
    const host = values.host ?? "127.0.0.1";
    const port = values.port === undefined ? 5640 : parsePort("mount", "port", values.port);
    const role = values.role ?? "queen";
    const say = (line: string) => console.error(`cohesix mount: ${line}`);

    if (!(await exists("/dev/fuse"))) {
      say(
        "/dev/fuse is missing: load the fuse module ('modprobe fuse') or, in a container, pass --device /dev/fuse",
      );
      return 1;
    }
    const state = mountState(dir);
    if (state === "stale") {
      const r = await fusermountUnmount(dir, true);
      if (!r.ok) {
        say(`${dir} holds a stale FUSE mount that could not be cleared: ${r.message}`);
        return 1;
      }
      say(`cleared a stale mount at ${dir} (its 'cohesix mount' had died)`);
    } else if (state === "alive") {
      say(`${dir} is already a mount (${fuseMountAt(dir)?.source}); run 'cohesix umount ${dir}' first`);
      return 1;
    }
    const info = await Deno.stat(dir).catch(() => null);
    if (!info?.isDirectory) {
      say(`${dir} is not a directory; create it with 'mkdir -p ${dir}'`);
      return 1;
    }

    const link = new HiveLink({ host, port, role, ticket: values.ticket ?? "" });
    link.onEvent = (event, detail) =>
      say(event === "lost" ? `${detail}; calls fail with EIO until the hive is back` : detail);
    try {
      await link.session(); // refuse before mounting: a bad ticket or a dead hive is reported here
    } catch (e) {
      if (e instanceof NineError) {
        say(`the hive refused the attach as '${role}': ${errnoName(e.errno)}; check --role and --ticket`);
      } else say(`${(e as Error).message}; start a hive with 'cohesix dev' or pass --host/--port`);
      return 1;
    }
    const fs = new HiveFs(link, { uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0, cacheSeconds });
    const session = new FuseSession(fs, dir, {
      fsName: `cohesix:${host}:${port}`,
      subtype: "cohesix",
      debug: values.debug,
    });
    try {
      session.mount();
    } catch (e) {
      link.close();
      say((e as Error).message);
      return 1;
    }
    let why = "unmounted";
    const onSignal = (name: string) => () => {
      why = name;
      session.stop();
    };
    const sigint = onSignal("SIGINT");
    const sigterm = onSignal("SIGTERM");
    Deno.addSignalListener("SIGINT", sigint);
    Deno.addSignalListener("SIGTERM", sigterm);
    if (values.json) {
      console.log(JSON.stringify({ version: 1, mountpoint: dir, pid: Deno.pid, host, port, role }));
    }
    say(`${host}:${port} mounted at ${dir} as ${role}; Ctrl-C or 'cohesix umount ${dir}' unmounts`);
    try {
      await session.run();
    } finally {
      Deno.removeSignalListener("SIGINT", sigint);
      Deno.removeSignalListener("SIGTERM", sigterm);
      link.close();
    }
    say(`${dir} unmounted (${why})`);
    return 0;
  },
};

const UMOUNT_HELP = `cohesix umount: unmount a directory mounted by 'cohesix mount'

Usage: cohesix umount [--lazy] DIR

Unmounts DIR; its 'cohesix mount' process then exits. While files under DIR are open the
kernel refuses (busy): close them, or detach with --lazy (DIR is unmounted at once; open files
keep working until they are closed). A stale mount (its process was killed) is cleared too.

Flags:
  --lazy    detach even while files are open (fusermount3 -u -z)

Examples:
  cohesix umount /tmp/hive
  cohesix umount --lazy /tmp/hive
`;

export const umountCommand: Subcommand = {
  name: "umount",
  summary: "unmount a directory mounted by 'cohesix mount'",
  help: UMOUNT_HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags("umount", argv, { lazy: { type: "boolean" } }, true);
    if (positionals.length !== 1) {
      throw new UsageError("umount: give exactly one directory", "run 'cohesix umount --help' for usage");
    }
    const dir = resolve(positionals[0]);
    const say = (line: string) => console.error(`cohesix umount: ${line}`);
    const state = mountState(dir);
    if (state === "absent") {
      say(`${dir} is not a FUSE mount; nothing to do`);
      return 1;
    }
    const r = await fusermountUnmount(dir, values.lazy === true || state === "stale");
    if (!r.ok) {
      if (/busy/i.test(r.message)) {
        say(`${dir} is busy: files under it are open; close them or run 'cohesix umount --lazy ${dir}'`);
      } else say(`cannot unmount ${dir}: ${r.message}`);
      return 1;
    }
    say(`${dir} unmounted${state === "stale" ? " (it was stale)" : ""}`);
    return 0;
  },
};

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
