/**
 * cohsh as a new user meets it: a real terminal (tmux), the coh> prompt, Tab completion of verbs
 * and paths, history (arrow up, persisted to a file), Ctrl-C stopping a `tail -f` while the shell
 * lives on. Skipped only when tmux is not installed (scripts/install-deps.sh installs it).
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const hasTmux = new Deno.Command("sh", { args: ["-c", "command -v tmux"], stdout: "null", stderr: "null" }).outputSync().success;

async function tmux(...args: string[]): Promise<string> {
  const r = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

async function waitFor(session: string, pred: (screen: string) => boolean, what: string): Promise<string> {
  let screen = "";
  for (let i = 0; i < 100; i++) {
    screen = await tmux("capture-pane", "-p", "-t", session);
    if (pred(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

Deno.test({
  name: "cohsh interactive prompt completes, remembers history and stops tail -f on Ctrl-C (tmux)",
  ignore: !hasTmux,
  async fn() {
    const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
    const dir = await Deno.makeTempDir();
    const session = `cohsh-test-${Deno.pid}`;
    const hist = `${dir}/history`;
    try {
      await tmux(
        "new-session", "-d", "-s", session, "-x", "160", "-y", "60",
        `env COHSH_HISTORY=${hist} NO_COLOR=1 ${COHESIX} cohsh --port ${hive.consolePort} --role queen`,
      );
      await tmux("set-option", "-t", session, "remain-on-exit", "on");
      await waitFor(session, (s) => s.includes("OK ATTACH role=queen") && s.includes("coh>"), "the prompt");
      // Tab completes a verb, then path components asked of the hive.
      await tmux("send-keys", "-t", session, "ca", "Tab");
      await waitFor(session, (s) => /coh> cat\s*$/m.test(s), "verb completion");
      await tmux("send-keys", "-t", session, "/pr", "Tab");
      await waitFor(session, (s) => s.includes("coh> cat /proc"), "path completion of /proc");
      await tmux("send-keys", "-t", session, "/bo", "Tab");
      await waitFor(session, (s) => s.includes("coh> cat /proc/boot"), "path completion of /proc/boot");
      await tmux("send-keys", "-t", session, "Enter");
      await waitFor(session, (s) => s.includes("OK CAT path=/proc/boot") && s.trimEnd().endsWith("coh>"), "cat output");
      // Arrow up recalls the last command.
      await tmux("send-keys", "-t", session, "Up", "Enter");
      await waitFor(session, (s) => count(s, "OK CAT path=/proc/boot") === 2, "the recalled command's output");
      // Ctrl-C stops tail -f; the shell stays.
      await tmux("send-keys", "-t", session, "tail -f /log/queen.log", "Enter");
      await waitFor(session, (s) => s.includes("OK TAIL path=/log/queen.log"), "tail -f");
      const c = await ConsoleClient.connectTcp("127.0.0.1", hive.consolePort, "changeme");
      await c.request("ATTACH queen");
      await c.request("ECHO /log/queen.log seen live by the follower");
      c.close();
      await waitFor(session, (s) => s.includes("seen live by the follower"), "the followed line");
      await tmux("send-keys", "-t", session, "C-c");
      await waitFor(session, (s) => /seen live by the follower\s*\nEND\s*\ncoh>/.test(s), "END after Ctrl-C");
      await tmux("send-keys", "-t", session, "ping", "Enter");
      await waitFor(session, (s) => s.includes("OK PING reply=pong"), "the shell still answering");
      await tmux("send-keys", "-t", session, "quit", "Enter");
      const screen = await waitFor(session, (s) => s.includes("closing session"), "quit");
      assertStringIncludes(screen, "OK QUIT");
      const saved = (await Deno.readTextFile(hist)).trimEnd().split("\n");
      assertEquals(saved, ["cat /proc/boot", "tail -f /log/queen.log", "ping", "quit"]);
    } finally {
      await tmux("kill-session", "-t", session).catch(() => "");
      await hive.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
