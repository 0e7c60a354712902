#!/usr/bin/env bash
# The demo (./run.sh, ./run.sh demo [--postcopy] [--headless] [--linux]): live migration between two emu processes.
#
#   1. a source emu boots out/guests/clock.img through Emu's BIOS (a live VGA text screen: counter, spinner,
#      clock, key field), or with --linux Emu's Linux guest (out/guests/linux: a shell on the VGA console and
#      one on the serial line, the a-b checker printing a line per pass); a destination emu waits with
#      -incoming tcp:127.0.0.1:PORT;
#   2. after a few seconds the guest is migrated live over QMP (precopy, or postcopy with --postcopy when this
#      build accepts the postcopy-ram capability), with one progress line updated in place from query-migrate;
#   3. the destination keeps running the guest.
#
# With DISPLAY set both emus open SDL windows (the destination's sits beside the source's when xdotool is
# there) and the demo waits for Ctrl-C, which ends both processes. Without DISPLAY (or with --headless) both run
# with -display none, PNG screendumps before and after land in out/demo/, the serial lines are shown, and the
# demo ends by itself once the migration is done.
#
# QMP is spoken from bash itself over -qmp tcp:127.0.0.1:PORT and /dev/tcp, so no extra package is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU="$ROOT/out/emu"
GUEST="$ROOT/out/guests/clock.img"
LINUX="$ROOT/out/guests/linux"
OUT="$ROOT/out/demo"
RUN_SECONDS=4          # how long the guest runs on the source before the migration starts
AFTER_SECONDS=3        # headless: how long the destination runs before its screendump
MEMORY=256M

say() { echo "demo: $*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

postcopy=0
headless=0
linux=0
fast=0
for arg in "$@"; do
    case "$arg" in
        --postcopy) postcopy=1 ;;
        --headless) headless=1 ;;
        --linux) linux=1 ;;
        --fast) fast=1 ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (use: --postcopy, --headless, --linux, --fast)" ;;
    esac
done
[ -n "${DISPLAY:-}" ] || headless=1
[ -x "$EMU" ] || die "$EMU does not exist; run ./run.sh build first"
if [ $linux -eq 1 ]; then
    # Kernel messages on both consoles; /dev/console (the last) is the serial line; vgashell puts a second
    # shell on the VGA screen; abcheck checks 16 MiB by the a-b rule, a pass every 200 ms.
    BOOT=(-kernel "$LINUX/bzImage" -initrd "$LINUX/initrd.gz" -append "console=tty0 console=ttyS0 abcheck=4,200 vgashell")
    BANDWIDTH=$((32 << 20))
    BOOT_TEXT="-kernel out/guests/linux/bzImage -initrd out/guests/linux/initrd.gz (Linux 6.1, busybox)"
    READY="emu-linux: init done"
    MEMORY=128M
    [ -f "$LINUX/bzImage" ] && [ -f "$LINUX/initrd.gz" ] || die "$LINUX/bzImage or initrd.gz does not exist; run ./run.sh build first"
else
    BOOT=(-drive "file=$GUEST,format=raw")
    BOOT_TEXT="-drive file=out/guests/clock.img,format=raw (Emu's BIOS boots the disk)"
    READY="clock: running"
    BANDWIDTH=$((256 << 10))
    [ -f "$GUEST" ] || die "$GUEST does not exist; run ./run.sh build first"
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT"/*.serial "$OUT"/*.log "$OUT"/*.out

# ---------------------------------------------------------------------------------------------------------
# Processes: started here, ended only by their pid (QMP quit first, then TERM, then KILL).

declare -A PID=() QMP_FD=() QMP_PORT=()

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    local port
    while true; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# start_emu NAME SLOT ARGS...: out/emu with the guest, serial to out/demo/NAME.serial, its log (info level) to
# out/demo/NAME.log and anything it prints to out/demo/NAME.out, QMP on a TCP port; its window opens in screen
# slot SLOT (side by side, whatever the window manager).
start_emu() {
    local name=$1 slot=$2; shift 2
    local display=sdl
    [ $headless -eq 1 ] && display=none
    QMP_PORT[$name]=$(free_port)
    EMU_WindowSlot=$slot "$EMU" -name "$name" -m "$MEMORY" "${BOOT[@]}" -display "$display" --log-file "$OUT/$name.log" \
        -serial "file:$OUT/$name.serial" -qmp "tcp:127.0.0.1:${QMP_PORT[$name]},server,wait=off" \
        "$@" >"$OUT/$name.out" 2>&1 &
    PID[$name]=$!
}

stop_emu() {
    local name=$1 pid=${PID[$1]:-} i
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null && [ -n "${QMP_FD[$name]:-}" ]; then
        printf '{"execute":"quit"}\n' >&"${QMP_FD[$name]}" 2>/dev/null || true
    fi
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        [ "$i" -eq 10 ] && kill -TERM "$pid" 2>/dev/null
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}

cleanup() {
    trap - INT TERM EXIT
    # Ctrl-C reaches the emus too (one process group); writing quit to a socket they closed must not kill us.
    trap '' PIPE
    printf '\n'
    stop_emu destination
    stop_emu source
}
trap cleanup EXIT
trap 'say "Ctrl-C: ending both emu processes"; exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------
# A small QMP client: one connection per emu on a bash file descriptor, one command at a time, events skipped.

# qmp_connect NAME: connects (retrying while the process starts), reads the greeting, negotiates.
qmp_connect() {
    local name=$1 port=${QMP_PORT[$1]} fd line i
    for i in $(seq 1 200); do
        kill -0 "${PID[$name]}" 2>/dev/null || die "the $name emu ended at start: $(tail -n 3 "$OUT/$name.out")"
        # The braces scope 2>/dev/null to the connect; exec's own redirection stays for the whole script.
        if { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            QMP_FD[$name]=$fd
            read -r -t 10 -u "$fd" line || die "no QMP greeting from the $name emu"
            [[ $line == *'"QMP"'* ]] || die "the $name emu sent '$line' instead of a QMP greeting"
            qmp "$name" qmp_capabilities >/dev/null
            return
        fi
        sleep 0.05
    done
    die "could not connect to the $name emu's QMP on 127.0.0.1:$port"
}

# qmp NAME COMMAND [ARGUMENTS-JSON]: prints the reply line ({"return": …} or {"error": …}).
qmp() {
    local name=$1 command=$2 args=${3:-} fd=${QMP_FD[$1]} line
    if [ -n "$args" ]; then
        printf '{"execute":"%s","arguments":%s}\n' "$command" "$args" >&"$fd"
    else
        printf '{"execute":"%s"}\n' "$command" >&"$fd"
    fi
    while read -r -t 30 -u "$fd" line; do
        case "$line" in
            '{"return"'* | '{"error"'*) echo "$line"; return 0 ;;
        esac
    done
    die "no reply to $command from the $name emu"
}

# qmp_ok NAME COMMAND [ARGUMENTS-JSON]: as qmp, but a QMP error ends the demo with its description.
qmp_ok() {
    local reply
    reply=$(qmp "$@")
    [[ $reply == '{"error"'* ]] && die "$2 on the $1 emu failed: $(json_str desc "$reply")"
    echo "$reply"
}

# json_num KEY JSON / json_str KEY JSON: the first value of "KEY" in a flat scan of the reply (query-migrate's
# keys are unique across its nesting levels). Prints the fallback ($3, default empty) when it is absent.
json_num() {
    if [[ $2 =~ \"$1\":\ *(-?[0-9.]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo "${3:-}"; fi
}
json_str() {
    if [[ $2 =~ \"$1\":\ *\"(([^\"\\]|\\.)*)\" ]]; then echo "${BASH_REMATCH[1]}"; else echo "${3:-}"; fi
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

screendump() {
    qmp_ok "$1" screendump "{\"filename\":\"$2\",\"format\":\"png\"}" >/dev/null
    say "  $2"
}

serial_tail() {
    tail -n "$2" "$OUT/$1.serial" 2>/dev/null | tr -d '\r' | sed "s/^/  $1 serial | /"
}

# ---------------------------------------------------------------------------------------------------------

MIGRATION_PORT=$(free_port)
if [ $headless -eq 1 ]; then
    say "no display (DISPLAY unset or --headless): running both emus with -display none; pictures go to out/demo/"
else
    say "DISPLAY=$DISPLAY: both emus open an SDL window (source first, then the destination)"
fi
say "source:      out/emu -m $MEMORY $BOOT_TEXT"
start_emu source 0
say "destination: out/emu ... -incoming tcp:127.0.0.1:$MIGRATION_PORT (waits for the guest)"
start_emu destination 1 -incoming "tcp:127.0.0.1:$MIGRATION_PORT"
qmp_connect source
qmp_connect destination


for i in $(seq 1 300); do
    grep -q "$READY" "$OUT/source.serial" 2>/dev/null && break
    kill -0 "${PID[source]}" 2>/dev/null || die "the source emu ended: $(tail -n 3 "$OUT/source.out")"
    sleep 0.1
done
grep -q "$READY" "$OUT/source.serial" 2>/dev/null || die "the guest did not start on the source within 30 s"
say "the guest runs on the source; migrating in $RUN_SECONDS s"
sleep "$RUN_SECONDS"
serial_tail source 3
if [ $headless -eq 1 ]; then
    screendump source "$OUT/source-before.png"
fi

mode=precopy
if [ $postcopy -eq 1 ]; then
    caps='{"capabilities":[{"capability":"postcopy-ram","state":true}]}'
    reply_dst=$(qmp destination migrate-set-capabilities "$caps")
    reply_src=$(qmp source migrate-set-capabilities "$caps")
    if [[ $reply_dst == '{"return"'* && $reply_src == '{"return"'* ]]; then
        mode=postcopy
    else
        desc=$(json_str desc "$reply_src")
        [[ $reply_dst == '{"error"'* ]] && desc=$(json_str desc "$reply_dst")
        say "postcopy is not available in this build yet ($desc); migrating with precopy instead"
    fi
fi

# A bandwidth that lets a person watch the passes go by (a few seconds); --fast takes all the loopback has.
[ $fast -eq 1 ] && BANDWIDTH=107374182400
qmp_ok source migrate-set-parameters "{\"max-bandwidth\":$BANDWIDTH}" >/dev/null
if [ $linux -eq 1 ]; then
    # The checker keeps writing 4 MiB; auto-converge slows the guest if it out-dirties the link.
    qmp_ok source migrate-set-capabilities '{"capabilities":[{"capability":"auto-converge","state":true}]}' >/dev/null
fi
say "migrate {\"uri\": \"tcp:127.0.0.1:$MIGRATION_PORT\"} ($mode)"
started=$(date +%s%N)
qmp_ok source migrate "{\"uri\":\"tcp:127.0.0.1:$MIGRATION_PORT\"}" >/dev/null

postcopy_started=0
status=setup
while true; do
    info=$(qmp_ok source query-migrate)
    status=$(json_str status "$info" unknown)
    case "$status" in
        completed | failed | cancelled) break ;;
    esac
    # Postcopy: one precopy pass first, then the destination takes over and pulls what is missing.
    if [ "$mode" = postcopy ] && [ $postcopy_started -eq 0 ] && [ "$(json_num dirty-sync-count "$info" 0)" -ge 1 ]; then
        # Refused only when the migration has just completed in precopy; the next poll shows that.
        reply=$(qmp source migrate-start-postcopy)
        [[ $reply == '{"error"'* ]] && say "migrate-start-postcopy: $(json_str desc "$reply")"
        postcopy_started=1
    fi
    printf '\r%-110s' "$(printf 'demo: %-16s pass %-3s sent %-11s remaining %-11s dirty %s pages/s  throttle %s %%' \
        "$status" "$(json_num dirty-sync-count "$info" 0)" "$(mib "$(json_num transferred "$info" 0)")" \
        "$(mib "$(json_num remaining "$info" 0)")" "$(json_num dirty-pages-rate "$info" 0)" \
        "$(json_num cpu-throttle-percentage "$info" 0)")"
    sleep 0.2
done
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
printf '\r%-110s' "$(printf 'demo: %-16s pass %-3s sent %-11s in %s ms, downtime %s ms' "$status" \
    "$(json_num dirty-sync-count "$info" 0)" "$(mib "$(json_num transferred "$info" 0)")" \
    "$(json_num total-time "$info" "$elapsed_ms")" "$(json_num downtime "$info" '?')")"
printf '\n'
[ "$status" = completed ] || die "the migration ended $status: $(json_str error-desc "$info" 'no description')"

# The destination resumes the guest as soon as the device state is in (autostart).
for i in $(seq 1 100); do
    [[ $(qmp_ok destination query-status) == *'"running"'* ]] && break
    sleep 0.1
done
say "source: $(json_str status "$(qmp_ok source query-status)"); destination: $(json_str status "$(qmp_ok destination query-status)")"

# The picture of this migration, pass by pass (Emu's x-emu-migration-report): a PNG plot, and CSV/JSON beside it.
qmp_ok source x-emu-migration-report "{\"filename\":\"$OUT/migration\"}" >/dev/null
say "the migration, pass by pass: $OUT/migration.png (data: migration.csv, migration.json)"

if [ $headless -eq 1 ]; then
    sleep "$AFTER_SECONDS"
    say "pictures:"
    screendump source "$OUT/source-after.png"
    screendump destination "$OUT/destination-after.png"
    if [ $linux -eq 1 ]; then
        say "the guest's serial, before (source) and after (destination) the migration; the checker's passes go on:"
    else
        say "the guest's serial, before (source) and after (destination) the migration; its tick count goes on:"
    fi
    serial_tail source 3
    serial_tail destination 3
    say "done; both emus end now"
    exit 0
fi

say "the guest now runs in the destination's window (the source's shows where it was); Ctrl-C ends both"
while kill -0 "${PID[destination]}" 2>/dev/null; do
    sleep 1
done
say "the destination emu ended: $(tail -n 2 "$OUT/destination.out")"
