/* Cohesix seL4 root task entry. The kernel starts the initial thread at the ELF entry with
 * x0 = seL4_BootInfo* and no usable stack: point sp at our own stack in .bss, then call C. */
    .section .text._sel4_start, "ax"
    .global _sel4_start
    .type _sel4_start, %function
_sel4_start:
    adrp    x9, coh_stack_top
    add     x9, x9, :lo12:coh_stack_top
    mov     sp, x9
    mov     x29, #0
    mov     x30, #0
    bl      coh_sel4_main          /* x0 (bootinfo) passed through; does not return */
1:  wfe
    b       1b
    .size _sel4_start, . - _sel4_start

    .section .bss.coh_stack, "aw", %nobits
    .balign 16
coh_stack_bottom:
    .space  (512 << 10)            /* 512 KiB: translated Wasm functions keep large frames */
coh_stack_top:
