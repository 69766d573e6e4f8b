/* The whole program of worker 1, the root task's second component (sel4_worker.c starts it).
 * It is copied into a frame of the worker's own VSpace, so it must be position-independent and
 * self-contained: no stack, no data, no IPC buffer; the message fits in registers (seL4's AArch64
 * ABI: x0 endpoint/badge, x1 message info, x2..x5 MR0..MR3, x7 syscall number).
 * Protocol: a PING (label 'PING', one word n) is answered PONG (label 'PONG', the same n);
 * anything else is answered with label 0 and no words. */
#define WORKER_EP_CPTR 1   /* slot 1 of the worker's CNode: the endpoint, receive right only */
#define SYS_REPLY_RECV -2  /* seL4_SysReplyRecv */
#define SYS_RECV -5        /* seL4_SysRecv */

    .section .text.coh_worker, "ax"
    .balign 4
    .global coh_worker_code
    .global coh_worker_code_end
coh_worker_code:
    mov     x0, #WORKER_EP_CPTR
    mov     x7, #SYS_RECV
    svc     #0
1:  lsr     x9, x1, #12              /* the request's label */
    movz    x10, #0x4e47
    movk    x10, #0x5049, lsl #16    /* 'PING' = 0x50494e47 */
    cmp     x9, x10
    b.ne    2f
    movz    x1, #0x7001              /* info: label 'PONG' (0x504f4e47) << 12 | length 1; x2 = n */
    movk    x1, #0xf4e4, lsl #16
    movk    x1, #0x0504, lsl #32
    b       3f
2:  mov     x1, #0
3:  mov     x0, #WORKER_EP_CPTR
    mov     x7, #SYS_REPLY_RECV
    svc     #0
    b       1b
coh_worker_code_end:
