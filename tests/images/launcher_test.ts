import { qemuArgv, type QemuSpec } from "../../src/host/qemu/launcher.ts";
import { assert, assertEquals } from "../support/assert.ts";

const FIRMWARE = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd";
const SPECS: Record<string, QemuSpec> = {
  elf: { boot: { kind: "elf", image: "/img/sel4-image.elf" }, serial: { kind: "stdio" } },
  esp: {
    boot: { kind: "uefi", disk: "/img/esp.img", firmware: FIRMWARE, snapshot: true },
    serial: { kind: "stdio" },
  },
  tcp: { boot: { kind: "elf", image: "/img/sel4-image.elf" }, serial: { kind: "tcp", port: 4555 } },
};

Deno.test("qemuArgv starts every boot kind with -nodefaults and no network device unless one is asked for", () => {
  for (const [name, spec] of Object.entries(SPECS)) {
    const argv = qemuArgv(spec);
    assertEquals(argv[0], "-nodefaults", name);
    for (const flag of ["-net", "-nic", "-netdev", "-device"]) {
      assert(!argv.includes(flag), `${name}: ${flag}`);
    }
  }
});

Deno.test("qemuArgv names the serial, the boot path and the ROM directory exactly", () => {
  const elf = qemuArgv({ ...SPECS.elf, romDir: "/empty" });
  assertEquals(elf.slice(elf.indexOf("-serial"), elf.indexOf("-serial") + 2), ["-serial", "stdio"]);
  assertEquals(elf.slice(-4), ["-L", "/empty", "-kernel", "/img/sel4-image.elf"]);
  const esp = qemuArgv(SPECS.esp);
  assertEquals(esp.slice(-4), [
    "-bios",
    FIRMWARE,
    "-drive",
    "file=/img/esp.img,format=raw,if=virtio,snapshot=on",
  ]);
  const tcp = qemuArgv(SPECS.tcp);
  assertEquals(tcp[tcp.indexOf("-serial") + 1], "tcp:127.0.0.1:4555,server=on,wait=on");
});

Deno.test("qemuArgv adds one restricted user-network NIC with loopback forwards when asked", () => {
  const argv = qemuArgv({
    ...SPECS.elf,
    nic: {
      kind: "user",
      restrict: true,
      forwards: [{ hostPort: 4000, guestPort: 31337 }, { hostPort: 4001, guestPort: 5640 }],
    },
  });
  assertEquals(argv.filter((a) => a === "-nic").length, 1);
  assertEquals(
    argv[argv.indexOf("-nic") + 1],
    "user,model=virtio-net-device,restrict=on,hostfwd=tcp:127.0.0.1:4000-:31337,hostfwd=tcp:127.0.0.1:4001-:5640",
  );
});
