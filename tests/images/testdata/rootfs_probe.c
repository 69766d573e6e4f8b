/* Test root task: lists the newc archive linked in by images/embed.ts (cohesix_rootfs_start/end)
 * on the seL4 debug console, one line per regular file: "rootfs: <name> <size>", then
 * "rootfs: <n> files". Freestanding; entry from the SDK example's crt0.S (roottask_main). */
#include <sel4/sel4.h>

seL4_IPCBuffer *__sel4_ipc_buffer;
extern const char cohesix_rootfs_start[], cohesix_rootfs_end[];

static void put(const char *s) { while (*s) seL4_DebugPutChar(*s++); }

static void put_dec(unsigned long v)
{
    char buf[24];
    int i = 0;
    do { buf[i++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (i) seL4_DebugPutChar(buf[--i]);
}

static unsigned long hex8(const char *p)
{
    unsigned long v = 0;
    for (int i = 0; i < 8; i++) {
        char c = p[i];
        v = v * 16 + (unsigned long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

void roottask_main(seL4_BootInfo *bi)
{
    seL4_SetIPCBuffer(bi->ipcBuffer);
    const char *p = cohesix_rootfs_start;
    unsigned long files = 0;
    while (p + 110 <= cohesix_rootfs_end && p[0] == '0' && p[5] == '1') {
        unsigned long mode = hex8(p + 14), size = hex8(p + 54), namesize = hex8(p + 94);
        const char *name = p + 110;
        if (same(name, "TRAILER!!!")) break;
        if ((mode & 0170000) == 0100000) {
            put("rootfs: "); put(name); put(" "); put_dec(size); put("\n");
            files++;
        }
        unsigned long off = (110 + namesize + 3) & ~3UL;
        p += off + ((size + 3) & ~3UL);
    }
    put("rootfs: "); put_dec(files); put(" files\n");
    seL4_TCB_Suspend(seL4_CapInitThreadTCB);
    for (;;) seL4_Yield();
}
