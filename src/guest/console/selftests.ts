/**
 * The self-test scripts the hive serves at `/proc/tests/<name>.coh` (read-only), as guest
 * constants: the guest cannot read files. Same bytes as demo/<name>.coh, which cohsh ships as its
 * fallback; tests/console/selftests_test.ts fails when the two drift (copy the file contents here).
 */

export const SELFTEST_NAMES = ["selftest_negative.coh", "selftest_quick.coh", "selftest_full.coh"];

export const SELFTEST_SCRIPTS = [
  "# Negative self-test: every refusal is one clean ERR line and leaves the hive serving.\ncat /proc/boot\nEXPECT ERR\nEXPECT SUBSTR detail=unauthenticated\nattach queen\nEXPECT SUBSTR role=queen\nfrobnicate /proc/boot\nEXPECT ERR\nEXPECT SUBSTR ERR PARSE\ncat\nEXPECT ERR\nEXPECT SUBSTR missing required argument: path\ncat /does/not/exist\nEXPECT ERR\nEXPECT SUBSTR error=ENOENT\necho overwritten > /proc/boot\nEXPECT ERR\nEXPECT SUBSTR detail=denied\ncat /proc/../proc/boot\nEXPECT ERR\nls /proc/boot\nEXPECT ERR\nEXPECT SUBSTR error=ENOTDIR\ncat /proc\nEXPECT ERR\nEXPECT SUBSTR error=EISDIR\nattach queen\nEXPECT ERR\nEXPECT SUBSTR detail=already-attached\nspawn {\"spawn\":\"nonsense\"}\nEXPECT ERR\nping\nEXPECT SUBSTR reply=pong\nquit\nEXPECT OK\n",
  "# Quick self-test: attach, liveness, read, list, append and read back.\nattach queen\nEXPECT SUBSTR role=queen\nping\nEXPECT SUBSTR reply=pong\ncat /proc/boot\nEXPECT SUBSTR path=/proc/boot\nls /\nEXPECT SUBSTR entries=\necho selftest quick > /log/queen.log\nEXPECT SUBSTR bytes=14\ntail /log/queen.log\nEXPECT OK\nquit\nEXPECT OK\n",
  "# Full self-test: the quick checks plus the queen's control surface, workers and GPUs.\n# Safe to run again and again against one hive (no fixed worker ids).\nattach queen\nEXPECT SUBSTR role=queen\nping\nEXPECT SUBSTR reply=pong\ncat /proc/boot\nEXPECT SUBSTR path=/proc/boot\nls /\nEXPECT SUBSTR entries=\nls /proc\nEXPECT OK\necho selftest full > /log/queen.log\nEXPECT SUBSTR bytes=13\nspawn {\"spawn\":\"heartbeat\",\"ticks\":5}\nEXPECT SUBSTR OK SPAWN\nls /worker\nEXPECT OK\ncat /proc/workers\nEXPECT OK\nkill worker-999999\nEXPECT ERR\nEXPECT SUBSTR error=ENOENT\nls /gpu\nEXPECT OK\ncat /gpu/GPU-0/info\nEXPECT OK\nlog\nEXPECT OK\nquit\nEXPECT OK\n",
];
