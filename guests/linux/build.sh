#!/usr/bin/env bash
# Builds Emu's Linux guest into OUT (default out/guests/linux), each piece only when it is missing:
#   bzImage       i386 Linux 6.1 from Debian's linux-source-6.1 with guests/linux/emu.config over allnoconfig,
#                 cached in $EMU_CACHE_DIR (default ~/.cache/emu) under the hash of the config, the source package
#                 version and the compiler, so a new clone on the same machine reuses it (the build takes ~8 min)
#   abcheck       the in-guest a-b checker (gcc -m32 -static)
#   initrd.gz     busybox (Debian's busybox-static:i386), /init, abcheck
#   syslinux.img  a raw disk: MBR, one FAT16 partition with SYSLINUX, the kernel and the initrd
# Progress goes to stderr, the kernel build's output to OUT/kernel-build.log.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/../../out/guests/linux}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CACHE="${EMU_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emu}"
say() { echo "linux guest: $*" >&2; }
die() { echo "linux guest: error: $*" >&2; exit 1; }

kernel() {
    local version key dir src
    version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || die "linux-source-6.1 is not installed"
    key=$( { cat "$HERE/emu.config"; echo "$version"; gcc --version | head -n 1; } | sha256sum | cut -c1-16)
    dir="$CACHE/linux-$key"
    if [ ! -s "$dir/bzImage" ]; then
        say "building the kernel (linux-source $version, config $key; about 8 minutes on 2 cores, once per machine)"
        src="$CACHE/linux-src-$version"
        if [ ! -f "$src/Makefile" ]; then
            rm -rf "$src.tmp" && mkdir -p "$src.tmp"
            tar -xf /usr/src/linux-source-6.1.tar.xz -C "$src.tmp" --strip-components=1
            mv "$src.tmp" "$src"
        fi
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
        KCONFIG_ALLCONFIG="$HERE/emu.config" make -C "$src" O="$dir.tmp" ARCH=i386 allnoconfig >"$OUT/kernel-build.log" 2>&1 \
            || die "kernel configuration failed; see $OUT/kernel-build.log"
        make -C "$src" O="$dir.tmp" ARCH=i386 -j"$(nproc)" bzImage >>"$OUT/kernel-build.log" 2>&1 \
            || die "kernel build failed; see $OUT/kernel-build.log"
        mkdir -p "$dir"
        cp "$dir.tmp/arch/x86/boot/bzImage" "$dir.tmp/.config" "$dir.tmp/System.map" "$dir/"
        rm -rf "$dir.tmp"
    fi
    cp -p "$dir/bzImage" "$OUT/bzImage"
    cp -p "$dir/.config" "$OUT/kernel.config"
}

abcheck() {
    gcc -m32 -static -O2 -Wall -Werror -o "$OUT/abcheck" "$HERE/abcheck.c"
}

initrd() {
    local root="$OUT/initramfs"
    file -L /bin/busybox | grep -q 'Intel 80386' || die "/bin/busybox is not Debian's busybox-static:i386"
    rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,root}
    cp /bin/busybox "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    cp "$OUT/abcheck" "$root/bin/abcheck"
    install -m 755 "$HERE/init" "$root/init"
    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9n >"$OUT/initrd.gz"
    rm -rf "$root"
}

# Writes partition 1 (active, type 06 FAT16, LBA START, SECTORS long; CHS fields say "use LBA") and the 55 AA
# signature into the MBR of DISK.
mbr_partition() {
    local disk=$1 start=$2 sectors=$3
    le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
    printf "\\x80\\xfe\\xff\\xff\\x06\\xfe\\xff\\xff$(le32 "$start")$(le32 "$sectors")" | dd of="$disk" bs=1 seek=446 conv=notrunc status=none
    printf '\x55\xaa' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
}

# SYSLINUX 6.04 on a FAT16 partition at 1 MiB of a 48 MiB disk, Debian's mbr.bin in the boot sector.
syslinux_disk() {
    local part="$OUT/part.img" disk="$OUT/syslinux.img"
    rm -f "$part" "$disk"
    truncate -s 47M "$part"
    mkfs.fat -F 16 -n EMULINUX -h 2048 "$part" >/dev/null
    cat >"$OUT/syslinux.cfg" <<'CFG'
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /bzImage
  INITRD /initrd.gz
  APPEND console=tty0 console=ttyS0
CFG
    syslinux --install "$part"
    mcopy -i "$part" "$OUT/bzImage" "$OUT/initrd.gz" "$OUT/syslinux.cfg" ::/
    truncate -s 1M "$disk"
    cat "$part" >>"$disk"
    mbr_partition "$disk" 2048 $(( $(stat -c %s "$part") / 512 ))
    dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
    rm -f "$part" "$OUT/syslinux.cfg"
}

# True when TARGET exists and is newer than every other argument.
fresh() {
    local target=$1 dep
    shift
    [ -s "$target" ] || return 1
    for dep; do [ "$target" -nt "$dep" ] || return 1; done
}

kernel
fresh "$OUT/abcheck" "$HERE/abcheck.c" || abcheck
fresh "$OUT/initrd.gz" "$HERE/init" "$OUT/abcheck" /bin/busybox || initrd
fresh "$OUT/syslinux.img" "$OUT/bzImage" "$OUT/initrd.gz" "$HERE/build.sh" || syslinux_disk
say "ready in $OUT (bzImage, initrd.gz, syslinux.img)"
