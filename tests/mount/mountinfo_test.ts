/** The mount table reader behind stale-mount detection and `cohesix umount`. */
import { parseMountinfo } from "../../src/host/mount/mounts.ts";
import { assertEquals } from "../support/assert.ts";

Deno.test("parseMountinfo reads mountpoint, type and source, undoing the kernel's octal escapes", () => {
  const text = [
    "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/a",
    "45 27 0:40 / /tmp/my\\040hive rw,nosuid,nodev,relatime shared:1 - fuse.cohesix cohesix:127.0.0.1:5640 rw,user_id=0,group_id=0",
    "garbage line without separator",
    "",
  ].join("\n");
  assertEquals(parseMountinfo(text), [
    { mountpoint: "/", fstype: "overlay", source: "overlay" },
    { mountpoint: "/tmp/my hive", fstype: "fuse.cohesix", source: "cohesix:127.0.0.1:5640" },
  ]);
});
