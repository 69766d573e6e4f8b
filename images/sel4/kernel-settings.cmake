# Cohesix kernel options, appended to ../shared/sel4/cmake/settings.cmake when the Cohesix seL4
# export is built from the SDK sources (src/host/sel4/kernel_export.ts).
#
# The root task's millisecond clock reads CNTVCT_EL0 / CNTFRQ_EL0 at EL0, and its tick interrupt is
# the EL1 physical timer (CNTP_TVAL_EL0 / CNTP_CTL_EL0, PPI INTID 30); the kernel keeps the virtual
# timer (INTID 27) for its own preemption tick. seL4 notes that exporting the timer registers opens
# a timing channel (counter) and a storage channel (timer registers shared by the threads that use
# them): on this image only the root task programs the timer.
set(KernelArmExportVCNTUser ON CACHE BOOL "" FORCE)
set(KernelArmExportPTMRUser ON CACHE BOOL "" FORCE)
