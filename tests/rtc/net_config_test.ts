import { compileManifestText } from "../../src/codegen/mod.ts";
import { netConfigValue } from "../../src/codegen/emit/bootstrap.ts";
import { assertEquals } from "../support/assert.ts";

const BASE = await Deno.readTextFile(new URL("./fixtures/base.toml", import.meta.url));
const withNet = (table: string) => BASE.replace("[features]\n", `${table}\n[features]\n`);

Deno.test("netConfigValue gives the native guest DHCP, the console ports and the session limits by default", () => {
  const m = compileManifestText(BASE, "base.toml");
  assertEquals(netConfigValue(m), {
    enabled: true,
    consolePort: 31337,
    ninepPort: 5640,
    maxConsoles: 4,
    maxNinep: m.secure9p.max_sessions,
    mode: "dhcp",
    address: [0, 0, 0, 0],
    prefix: 0,
    gateway: [0, 0, 0, 0],
  });
});

Deno.test("netConfigValue carries a static address, prefix and gateway as bytes", () => {
  const m = compileManifestText(
    withNet('[net]\nmode = "static"\naddress = "192.168.7.20/25"\ngateway = "192.168.7.1"\n\n[console]\nnet_port = 4000\nninep_port = 4001\nmax_sessions = 2\n'),
    "static.toml",
  );
  const n = netConfigValue(m);
  assertEquals([n.mode, n.address, n.prefix, n.gateway], ["static", [192, 168, 7, 20], 25, [192, 168, 7, 1]]);
  assertEquals([n.consolePort, n.ninepPort, n.maxConsoles], [4000, 4001, 2]);
});
