#!/usr/bin/env bash
# The demo (./run.sh): boots the hello guest and shows its serial output.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
echo "demo: out/emu -m 128M -kernel out/guests/hello.elf -serial stdio -display none"
"$ROOT/out/emu" -m 128M -kernel "$ROOT/out/guests/hello.elf" -serial stdio -display none && rc=0 || rc=$?
echo "demo: the guest exited through isa-debug-exit with process exit code $rc (value 0 → 1)"
