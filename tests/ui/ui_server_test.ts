/**
 * The UI server's access rules, over plain HTTP and WebSockets, and in chromium: the one-time
 * token, the session cookie, Origin and Host checks, the CSP; and the CLI's refusals of bad flags.
 */
import { assert_ as assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { ensureBundle, loadAssets } from "../../src/host/ui/assets.ts";
import { startUiServer, type UiServer } from "../../src/host/ui/server.ts";
import { openBrowser } from "./support/browser.ts";
import { AUTH, outputDir, startHive } from "./support/ui.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const opts = { sanitizeOps: false, sanitizeResources: false };

async function withServer(fn: (s: UiServer) => Promise<void>): Promise<void> {
  const hive = startHive();
  const server = startUiServer({
    port: 0,
    assets: await ensureBundle().then((b) => loadAssets(b.manifest, b.dir)),
    target: {
      ninep: { hostname: "127.0.0.1", port: hive.ninepPort },
      console: { hostname: "127.0.0.1", port: hive.consolePort },
      authToken: AUTH,
      refreshMs: 200,
      timeoutMs: 5000,
    },
  });
  try {
    await fn(server);
  } finally {
    await server.stop();
    await hive.stop();
  }
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const r = await fetch(url, { headers, redirect: "manual" });
  await r.body?.cancel();
  return r;
}

/** The status of a GET / sent by hand with this Host header (fetch does not let a caller set Host). */
async function rawStatus(port: string, host: string, cookie: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET / HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, n ?? 0)))?.[1] ?? 0);
  } finally {
    conn.close();
  }
}

/** Opens a WebSocket; resolves with its first message, or "refused" when the upgrade is refused. */
function wsFirst(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    // Deno's WebSocket takes request headers (a browser sends Cookie and Origin itself).
    const ws = new (WebSocket as any)(url, { headers }) as WebSocket;
    ws.onmessage = (ev) => {
      resolve(String(ev.data));
      ws.close();
    };
    ws.onerror = () => resolve("refused");
  });
}

Deno.test(
  "cohesix ui server: the one-time token buys one session cookie; nothing is served without it",
  opts,
  async () => {
    await withServer(async (s) => {
      const origin = new URL(s.url).origin;
      const token = new URL(s.url).searchParams.get("t")!;
      assertMatch(token, /^[A-Za-z0-9_-]{32}$/);
      // No token, a wrong token: 403 with what to do, for the page, its assets and the bridge.
      for (const path of ["/", "/app.js", "/app.css", "/ws", "/snapshot", `/?t=${token.slice(0, -1)}x`]) {
        const r = await fetch(origin + path);
        assertEquals(r.status, 403, path);
        assertStringIncludes(await r.text(), "one-time URL");
      }
      // The token: a cookie and a redirect that drops it from the address bar.
      const first = await get(s.url);
      assertEquals(first.status, 303);
      assertEquals(first.headers.get("location"), "/");
      const cookie = first.headers.get("set-cookie")!;
      assertMatch(cookie, /^cohesix_ui=[A-Za-z0-9_-]{32}; HttpOnly; SameSite=Strict; Path=\/$/);
      const jar = { cookie: cookie.split(";")[0] };
      // Spent: the same URL does not buy a second session.
      assertEquals((await get(s.url)).status, 403);
      // With the cookie: the page, its bundle, strict headers.
      const page = await fetch(origin + "/", { headers: jar });
      assertEquals(page.status, 200);
      assertStringIncludes(await page.text(), '<script type="module" src="/app.js">');
      const csp = page.headers.get("content-security-policy")!;
      assertStringIncludes(csp, "default-src 'self'");
      assertEquals(page.headers.get("referrer-policy"), "no-referrer");
      const js = await fetch(origin + "/app.js", { headers: jar });
      assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert((await js.arrayBuffer()).byteLength > 100_000, "the bundle carries xterm.js");
      assertEquals((await get(origin + "/nope.js", jar)).status, 404);
      assertEquals(
        await fetch(origin + "/", { method: "POST", headers: jar, body: "x" }).then(async (
          r,
        ) => (await r.body?.cancel(), r.status)),
        405,
      );
      // A wrong Host (DNS rebinding) is refused even with the cookie.
      assertEquals(await rawStatus(new URL(origin).port, "evil.example:80", jar.cookie), 421);
      assertEquals(
        await rawStatus(new URL(origin).port, `127.0.0.1:${new URL(origin).port}`, jar.cookie),
        200,
      );
      // The bridge: the cookie and the page's own Origin, or no upgrade.
      const ws = origin.replace("http:", "ws:") + "/ws";
      assertEquals(await wsFirst(ws, { origin }), "refused");
      assertEquals(await wsFirst(ws, { ...jar, origin: "http://evil.example" }), "refused");
      const hello = JSON.parse(await wsFirst(ws, { ...jar, origin }));
      assertEquals(hello.t, "hello");
      assertEquals(hello.mode, "live");
    });
  },
);

Deno.test(
  "cohesix ui in chromium: a page opened without the one-time URL is refused and gets no bridge",
  opts,
  async () => {
    const out = await outputDir("refused");
    await withServer(async (s) => {
      const b = await openBrowser();
      try {
        const origin = new URL(s.url).origin;
        const r = await b.page.goto(origin + "/");
        assertEquals(r?.status(), 403);
        assertStringIncludes(await b.page.textContent("body") ?? "", "one-time URL");
        const wrong = await b.page.goto(`${origin}/?t=not-the-token`);
        assertEquals(wrong?.status(), 403);
        await b.page.screenshot({ path: `${out}/refused.png` });
      } finally {
        await b.close();
      }
    });
  },
);

Deno.test("cohesix ui CLI: bad flags are usage errors (exit 2) and --help has examples", async () => {
  const run = async (...args: string[]) => {
    const r = await new Deno.Command(COHESIX, { args: ["ui", ...args], stdout: "piped", stderr: "piped" })
      .output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
  };
  const help = await run("--help");
  assertEquals(help.code, 0);
  assertStringIncludes(help.out, "Examples:");
  for (
    const [args, msg] of [
      [["--port", "99999"], "--port must be a port number"],
      [["--hive", "nohost"], "--hive must be HOST:PORT"],
      [["--refresh-ms", "5"], "--refresh-ms must be 50..60000"],
      [["--replay", "/nonexistent/x.json"], "cannot read snapshot"],
      [["--replay", "x.json", "--hive", "127.0.0.1:1"], "drop --hive"],
      [["--bogus"], "Unknown option '--bogus'"],
    ] as [string[], string][]
  ) {
    const r = await run(...args);
    assertEquals(r.code, 2, args.join(" "));
    assertStringIncludes(r.err, msg);
  }
});
