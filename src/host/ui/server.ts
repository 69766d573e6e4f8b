/**
 * The UI's HTTP server (Deno.serve on loopback): the page's files from memory, the WebSocket
 * bridge at /ws, and in replay mode the snapshot at /snapshot.
 *
 * Access: `cohesix ui` prints a URL with a one-time token. The first request carrying it gets a
 * session cookie (HttpOnly, SameSite=Strict) and a redirect that drops the token from the address
 * bar; the token is then spent. Every other request — files, /ws, /snapshot — needs that cookie;
 * anything else gets 403. The Host header must name the loopback address (no DNS rebinding), a
 * WebSocket's Origin must be the page's own, and the CSP allows no other origin (no CDN).
 */
import { type Asset } from "./assets.ts";
import { type BridgeTarget, UiSession } from "./bridge.ts";
import type { Snapshot } from "./snapshot.ts";
import { ROLE_NAMES } from "../../guest/console/grammar.ts";

export interface UiServerOptions {
  hostname?: string;
  port: number;
  assets: Map<string, Asset>;
  /** Live mode: the hive to bridge to. */
  target?: BridgeTarget;
  /** Replay mode: the snapshot to serve (no hive). */
  replay?: { snapshot: Snapshot; text: string };
  log?: (line: string) => void;
}

export interface UiServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const COOKIE = "cohesix_ui";

function randomToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/** Compares two strings in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function cookieOf(req: Request): string {
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === COOKIE) return v ?? "";
  }
  return "";
}

const REFUSED = `cohesix ui: refused. This page needs the one-time URL that 'cohesix ui' printed
(the token was missing, wrong, or already used by another browser). Restart 'cohesix ui' for a new URL.
`;

export function startUiServer(opts: UiServerOptions): UiServer {
  const log = opts.log ?? (() => {});
  const hostname = opts.hostname ?? "127.0.0.1";
  let token: string | null = randomToken();
  const firstToken = token;
  const session = randomToken();
  const sessions = new Set<UiSession>();
  const sockets = new Set<WebSocket>();
  let port = 0;
  const allowedHosts = () => [`${hostname}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`];
  const allowedOrigins = () => allowedHosts().map((h) => `http://${h}`);

  const headers = (type: string, extra: Record<string, string> = {}) => ({
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy":
      `default-src 'self'; connect-src 'self' ws://${hostname}:${port} ws://localhost:${port}; ` +
      "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ...extra,
  });
  const refuse = (why: string, status = 403) => {
    log(`refused: ${why}`);
    return new Response(REFUSED, { status, headers: headers("text/plain; charset=utf-8") });
  };

  const handler = (req: Request): Response => {
    const url = new URL(req.url);
    if (!allowedHosts().includes(req.headers.get("host") ?? "")) {
      return refuse(`Host ${req.headers.get("host")}`, 421);
    }
    const given = url.searchParams.get("t");
    if (given !== null) {
      if (token === null || !sameSecret(given, token)) {
        return refuse(token === null ? "token already used" : "wrong token");
      }
      token = null; // one time
      log("token accepted; session cookie issued");
      return new Response(null, {
        status: 303,
        headers: headers("text/plain", {
          location: "/",
          "set-cookie": `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`,
        }),
      });
    }
    if (!sameSecret(cookieOf(req), session)) return refuse(`${url.pathname} without the session cookie`);
    if (req.method !== "GET") {
      return new Response("method not allowed\n", { status: 405, headers: headers("text/plain") });
    }
    if (url.pathname === "/ws") return upgrade(req);
    if (url.pathname === "/snapshot") {
      if (!opts.replay) {
        return new Response("no snapshot: not in replay mode\n", {
          status: 404,
          headers: headers("text/plain"),
        });
      }
      return new Response(opts.replay.text, { headers: headers("application/json") });
    }
    const asset = opts.assets.get(url.pathname === "/" ? "/index.html" : url.pathname);
    if (asset === undefined) {
      return new Response("not found\n", { status: 404, headers: headers("text/plain") });
    }
    if (req.headers.get("if-none-match") === asset.etag) {
      return new Response(null, { status: 304, headers: headers(asset.type) });
    }
    return new Response(asset.body as Uint8Array<ArrayBuffer>, {
      headers: headers(asset.type, { etag: asset.etag }),
    });
  };

  const upgrade = (req: Request): Response => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return refuse("/ws without a WebSocket upgrade", 400);
    }
    const origin = req.headers.get("origin") ?? "";
    if (!allowedOrigins().includes(origin)) return refuse(`WebSocket from origin '${origin}'`);
    const { socket, response } = Deno.upgradeWebSocket(req);
    sockets.add(socket);
    socket.addEventListener("close", () => sockets.delete(socket));
    socket.onopen = () => {
      const hello = opts.replay
        ? { t: "hello", mode: "replay", hive: opts.replay.snapshot.hive, console: "", roles: [] }
        : {
          t: "hello",
          mode: "live",
          hive: `${opts.target!.ninep.hostname}:${opts.target!.ninep.port}`,
          console: `${opts.target!.console.hostname}:${opts.target!.console.port}`,
          roles: ROLE_NAMES,
        };
      socket.send(JSON.stringify(hello));
    };
    if (opts.target) {
      const s = new UiSession(socket, opts.target, (l) => log(l));
      sessions.add(s);
      socket.addEventListener("close", () => sessions.delete(s));
    }
    return response;
  };

  const server = Deno.serve({ hostname, port: opts.port, onListen: () => {} }, handler);
  port = server.addr.port;
  return {
    url: `http://${hostname}:${port}/?t=${firstToken}`,
    port,
    async stop() {
      for (const s of sessions) s.close();
      for (const ws of sockets) ws.close(1001, "cohesix ui stopped");
      await server.shutdown();
    },
  };
}
