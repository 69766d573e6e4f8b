#!/usr/bin/env bash
# The peer for bench/image: the same job as `cohesix image --uefi`, done with GNU cpio, mkfs.vfat and
# mtools (and the same cross tools for the link): strip, newc payload (seL4's create + append
# recipe), archive.o, ELF link (shoehorn.py), EFI link + objcopy, a rootfs CPIO, a FAT ESP with
# EFI/BOOT/BOOTAA64.EFI + cohesix/{attestation.json,rootfs.cpio}, and sha256 of every artifact.
# Usage: peer.sh SEL4_EXPORT ROOTSERVER.elf OUTDIR
set -euo pipefail
SDK="$(realpath "$1")"; ROOT="$(realpath "$2")"; OUT="$(realpath -m "$3")"
X=aarch64-linux-gnu-; F=(-march=armv8-a -D__KERNEL_64__)
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"
"${X}strip" "$SDK/kernel/kernel.elf" -o "$W/kernel.elf"; cp "$SDK/kernel/kernel.dtb" "$W/"; "${X}strip" "$ROOT" -o "$W/rootserver"
chmod 755 "$W/kernel.elf" "$W/rootserver"; chmod 644 "$W/kernel.dtb"
touch -d 1970-01-01T00:00:00Z "$W/kernel.elf" "$W/kernel.dtb" "$W/rootserver"
( cd "$W" && cpio --reproducible --quiet --create -H newc --file=archive.archive.o.cpio </dev/null
  for f in kernel.elf kernel.dtb rootserver; do
    echo "$f" | cpio --append --reproducible --owner=+0:+0 --quiet -o -H newc --file=archive.archive.o.cpio
  done
  mkdir -p rootfs && cd rootfs && : | cpio --reproducible --owner=+0:+0 --quiet -o -H newc --file=../rootfs.cpio )
printf '.section ._archive_cpio,"aw"\n.globl _archive_start, _archive_start_end\n_archive_start:\n.incbin "archive.archive.o.cpio"\n_archive_start_end:\n' > "$W/archive.o.S"
( cd "$W" && "${X}gcc" "${F[@]}" -c -o archive.o archive.o.S )
mkdir -p "$W/gen"
PYTHONPATH="$SDK/tools" /usr/bin/python3 "$SDK/tools/shoehorn.py" "$SDK/kernel/platform_gen.yaml" "$W/archive.o" > "$W/gen/image_start_addr.h"
"${X}gcc" "${F[@]}" -I"$W/gen" -I"$SDK/elfloader/elf/lds-include" -P -E -o "$W/linker.lds_pp" -x c "$SDK/elfloader/elf/linker.lds"
mapfile -t ELF_OBJS < <(sed "s#^#$SDK/#" "$SDK/elfloader/elf/objects.txt")
mapfile -t EFI_OBJS < <(sed "s#^#$SDK/#" "$SDK/elfloader/efi/objects.txt")
( cd "$W" && "${X}gcc" "${F[@]}" -g -Wl,-T "$W/linker.lds_pp" -nostdlib -static -Wl,--build-id=none archive.o "${ELF_OBJS[@]}" \
    -o "$OUT/sel4-image.elf" "$SDK/elfloader/elf/libcpio.a" -lgcc
  "${X}gcc" "${F[@]}" -g -pie -Wl,-T "$SDK/elfloader/efi/elf_aarch64_efi.lds" -nostdlib -shared -Wl,-Bsymbolic,--defsym=EFI_SUBSYSTEM=0xa \
    -Wl,--build-id=none archive.o "${EFI_OBJS[@]}" -o elfloader.so "$SDK/elfloader/efi/libcpio.a" -lgcc )
"${X}objcopy" -O binary "$W/elfloader.so" "$OUT/BOOTAA64.EFI"
cp "$W/archive.archive.o.cpio" "$OUT/payload.cpio"; cp "$W/rootfs.cpio" "$OUT/rootfs.cpio"
sha256sum "$OUT"/*.cpio "$OUT/sel4-image.elf" "$OUT/BOOTAA64.EFI" > "$OUT/attestation.txt"
rm -f "$OUT/esp.img"
/usr/sbin/mkfs.vfat -C -i 5e140000 -n COHESIX "$OUT/esp.img" 4096 >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$OUT/esp.img" ::/EFI ::/EFI/BOOT ::/cohesix
mcopy -i "$OUT/esp.img" "$OUT/BOOTAA64.EFI" ::/EFI/BOOT/BOOTAA64.EFI
mcopy -i "$OUT/esp.img" "$OUT/attestation.txt" ::/cohesix/attestation.json
mcopy -i "$OUT/esp.img" "$OUT/rootfs.cpio" ::/cohesix/rootfs.cpio
sha256sum "$OUT"/* > "$OUT/image-manifest.txt"
