#!/usr/bin/env bash
# Emu's front door.
#   ./run.sh            the demo
#   ./run.sh build      emulator at out/emu, guests at out/guests, firmware at out/firmware
#   ./run.sh test       every test (unit, conformance, end-to-end)
#   ./run.sh bench      the benchmarks (BenchmarkDotNet and the macro harness)
#   ./run.sh fuzz [N] [SEED]   N mutants (default 10000) of a migration snapshot fed to the loader; counts
#   ./run.sh soak [PRE] [POST] one guest ping-pongs PRE precopy and POST postcopy hops (default 20 and 10)
#   ./run.sh postcopy-cut [RUNS] [OUTAGE-MS...]  postcopy blocktime across a link cut and recovery
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
OUT="$ROOT/out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { echo "run.sh: $*" >&2; }
die() { echo "run.sh: error: $*" >&2; exit 1; }

# Installs the Debian packages whose probe fails, quietly, in one apt-get call.
ensure_packages() {
    local missing=() probe pkg
    while [ $# -gt 0 ]; do
        probe=$1 pkg=$2; shift 2
        eval "$probe" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}; run as root or install them with apt-get"
    say "installing ${missing[*]} (apt-get)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/tmp/emu-apt.log 2>&1; then
        apt-get update -qq >>/tmp/emu-apt.log 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>/tmp/emu-apt.log 2>&1 \
            || die "apt-get install ${missing[*]} failed; see /tmp/emu-apt.log"
    fi
}

ensure_build_tools() {
    command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is not on PATH; install .NET 10"
    ensure_packages "command -v nasm" nasm
}

ensure_test_tools() {
    ensure_packages \
        "command -v Xvfb" xvfb \
        "ldconfig -p | grep -q libSDL2-2.0.so.0" libsdl2-2.0-0 \
        "command -v xwd" x11-apps \
        "command -v xwininfo" x11-utils \
        "command -v xdotool" xdotool \
        "command -v gdb" gdb
}

# What guests/linux/build.sh needs: the kernel source and its build tools, busybox for i386 (the i386
# architecture is added to dpkg first), gcc's 32-bit libraries, SYSLINUX with mtools and mkfs.fat, and memtest86+.
ensure_linux_tools() {
    if ! dpkg -s busybox-static:i386 >/dev/null 2>&1 && ! dpkg --print-foreign-architectures | grep -qx i386; then
        [ "$(id -u)" -eq 0 ] || die "the i386 architecture is missing from dpkg; run as root or: dpkg --add-architecture i386 && apt-get update"
        say "adding the i386 architecture to dpkg (for busybox-static:i386)"
        dpkg --add-architecture i386
        apt-get update -qq >>/tmp/emu-apt.log 2>&1 || true
    fi
    ensure_packages \
        "dpkg -s linux-source-6.1" linux-source-6.1 \
        "command -v make && command -v gcc" build-essential \
        "command -v flex" flex \
        "command -v bison" bison \
        "command -v bc" bc \
        "command -v xz" xz-utils \
        "command -v cpio" cpio \
        "command -v file" file \
        "test -e /usr/include/libelf.h" libelf-dev \
        "test -e /usr/include/openssl/ssl.h" libssl-dev \
        "test -e /usr/lib32/libc.a || test -e /usr/lib/i386-linux-gnu/libc.a" gcc-multilib \
        "dpkg -s busybox-static:i386" busybox-static:i386 \
        "command -v syslinux" syslinux \
        "test -e /usr/lib/syslinux/mbr/mbr.bin" syslinux-common \
        "command -v mcopy" mtools \
        "command -v mkfs.fat" dosfstools \
        "test -e /boot/memtest86+ia32.bin" memtest86+ \
        "test -e /usr/share/seabios/bios.bin && test -e /usr/share/seabios/vgabios-stdvga.bin" seabios
}

ensure_bench_tools() {
    ensure_packages "command -v qemu-system-i386" qemu-system-x86
}

# True when TARGET is missing or older than any of the other arguments.
stale() {
    local target=$1 dep
    shift
    [ -e "$target" ] || return 0
    for dep; do [ "$dep" -nt "$target" ] && return 0; done
    return 1
}

build_guests() {
    mkdir -p "$OUT/guests" "$OUT/firmware"
    local src name out
    for src in guests/*.asm; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .asm)
        # A guest whose first line says "; image" is a raw disk image; the rest are multiboot ELF32 files.
        out="$OUT/guests/$name.elf"
        head -n 1 "$src" | grep -q '; image' && out="$OUT/guests/$name.img"
        stale "$out" "$src" guests/include/* && nasm -f bin -I guests/include/ -o "$out" "$src"
    done
    for src in firmware/*.asm; do
        [ -e "$src" ] || continue
        out="$OUT/firmware/$(basename "$src" .asm).bin"
        stale "$out" "$src" firmware/include/* && nasm -f bin -I firmware/include/ -I firmware/ -o "$out" "$src"
    done
    return 0
}

# True when a C# source, project or build setting changed since the last successful build.
dotnet_stale() {
    [ -e "$OUT/.built" ] && [ -x "$OUT/emu" ] || return 0
    [ -n "$(find src tests benchmarks Directory.Build.props Emu.sln -newer "$OUT/.built" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.sln' -o -name '*.json' \) -print -quit)" ]
}

# Emu's Linux guest in out/guests/linux: the kernel is cached per machine, the rest takes seconds.
build_linux() {
    ensure_linux_tools
    guests/linux/build.sh "$OUT/guests/linux"
}

build() {
    build_emu
    build_linux
}

build_emu() {
    ensure_build_tools
    say "building guests and firmware (nasm)"
    build_guests
    if ! dotnet_stale; then
        say "Emu is up to date (out/emu)"
        return 0
    fi
    say "building Emu (dotnet build -c Release)"
    dotnet build Emu.sln -c Release -nologo -v quiet -clp:ErrorsOnly >/tmp/emu-build.log 2>&1 \
        || { cat /tmp/emu-build.log >&2; die "dotnet build failed"; }
    rm -rf "$OUT/bin"
    mkdir -p "$OUT/bin"
    cp -r src/Emu/bin/Release/net10.0/. "$OUT/bin/"
    cat > "$OUT/emu" <<'WRAP'
#!/bin/sh
exec "$(dirname "$0")/bin/emu" "$@"
WRAP
    chmod +x "$OUT/emu"
    touch "$OUT/.built"
}

run_tests() {
    ensure_test_tools
    build
    local p failed=0
    for p in tests/Emu.UnitTests tests/Emu.ConformanceTests tests/Emu.EndToEndTests; do
        say "testing $(basename "$p")"
        # minimal: a failed test prints its message and stack; passing ones stay silent.
        dotnet test "$p" -c Release --no-build -nologo -v quiet --logger "console;verbosity=minimal" -- RunConfiguration.TreatNoTestsAsError=false || failed=1
    done
    [ $failed -eq 0 ] || die "some tests failed"
    say "all tests passed"
}

demo() {
    build_emu
    case " $* " in *" --linux "*) build_linux ;; esac
    exec "$ROOT/benchmarks/demo.sh" "$@"
}

# The long checks of tests/Emu.Stress (built with the solution), run from the repository root.
stress() {
    build_emu
    dotnet "$ROOT/tests/Emu.Stress/bin/Release/net10.0/Emu.Stress.dll" "$@"
}

bench() {
    ensure_bench_tools
    build
    exec "$ROOT/benchmarks/bench.sh" "$@"
}

cmd=${1:-demo}
[ $# -gt 0 ] && shift
case "$cmd" in
    build) build ;;
    test) run_tests ;;
    bench) bench "$@" ;;
    fuzz) stress fuzz "$@" ;;
    jit-fuzz) stress jit-fuzz "$@" ;;
    soak) stress soak "$@" ;;
    postcopy-cut) stress postcopy-cut "$@" ;;
    demo) demo "$@" ;;
    *) die "unknown command '$cmd' (use: build, test, bench, demo, fuzz, jit-fuzz, soak, postcopy-cut)" ;;
esac
