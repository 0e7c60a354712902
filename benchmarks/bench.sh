#!/usr/bin/env bash
# ./run.sh bench: BenchmarkDotNet micro benchmarks, then the macro harness (guest MIPS and migration, each
# beside QEMU measured in the same run). Figures are printed; README.md records a run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BENCH="dotnet run -c Release --project benchmarks/Emu.Benchmarks --no-build --"
dotnet build benchmarks/Emu.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
echo "bench: micro benchmarks (BenchmarkDotNet)"
$BENCH --filter '*' --join --job short --exporters markdown "$@"
echo "bench: macro benchmarks"
$BENCH macro speed
