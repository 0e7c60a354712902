#!/usr/bin/env bash
# ./run.sh bench: BenchmarkDotNet micro benchmarks (short job), then the macro harness: guest MIPS and
# migration, each beside QEMU measured in the same run. Figures are printed as markdown tables;
# benchmarks/RESULTS.md records a run. Arguments go to BenchmarkDotNet (e.g. --filter '*DirtyLog*').
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BENCH="dotnet run -c Release --project benchmarks/Emu.Benchmarks --no-build --"
dotnet build benchmarks/Emu.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
status=0
echo "bench: micro benchmarks (BenchmarkDotNet, short job)"
if [ $# -eq 0 ]; then set -- --filter '*'; fi
$BENCH "$@" --join --job short --exporters markdown || status=1
echo "bench: macro speed (speed guest, Emu and QEMU TCG)"
$BENCH macro speed || status=1
echo "bench: macro linux-boot (Linux 6.1 + busybox to the shell prompt, Emu and QEMU alternating, 5 runs each)"
$BENCH macro linux-boot --repeat 5 || status=1
echo "bench: macro seabios-boot (Debian's SeaBIOS to its first boot attempt, Emu and QEMU alternating, 5 runs each)"
$BENCH macro seabios-boot --repeat 5 || status=1
echo "bench: macro migrate (precopy, Emu and QEMU alternating, same QMP script, medians of 3)"
$BENCH macro migrate --repeat 3 || status=1
echo "bench: macro migrate --postcopy (ab 256 MiB and 1 GiB, switched after the first pass, medians of 3)"
$BENCH macro migrate --postcopy --repeat 3 || status=1
exit $status
