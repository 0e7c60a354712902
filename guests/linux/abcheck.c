/*
 * abcheck: QEMU's a-b rule from inside Linux. It maps a region of N MiB and keeps one counter per 4 KiB page,
 * behind a two-word marker and the page's index, so the pages can also be found in a dump of guest-physical
 * memory. Each pass writes the pass number into every page in order, then reads every page back: all must hold
 * the marker, their index and this pass. It prints one line per pass ("abcheck: pass N ok" or an error line), and
 * a line "abcheck: region N pages" first. A migration that loses or reorders a page write shows as an error line.
 *
 *   abcheck MiB [delay-ms]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The marker is built at run time so the binary itself never holds it as two adjacent words. */
static uint32_t marker(int which) { return which == 0 ? ~0x1234ABCDu : 0x5EED0000u ^ 0x0000AB0Cu; }

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 16;
    long delay_ms = argc > 2 ? atol(argv[2]) : 100;
    if (mib <= 0 || delay_ms < 0) {
        fprintf(stderr, "abcheck: usage: abcheck MiB [delay-ms]\n");
        return 2;
    }

    size_t pages = (size_t)mib * 256;
    uint32_t *region = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (region == MAP_FAILED) {
        perror("abcheck: mmap");
        return 1;
    }

    uint32_t m0 = marker(0), m1 = marker(1);
    for (size_t p = 0; p < pages; p++) {
        uint32_t *page = region + p * 1024;
        page[0] = m0;
        page[1] = m1;
        page[2] = (uint32_t)p;
        page[3] = 0;
    }

    printf("abcheck: region %zu pages\n", pages);
    fflush(stdout);
    unsigned long errors = 0;
    struct timespec pause = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
    for (uint32_t pass = 1;; pass++) {
        for (size_t p = 0; p < pages; p++) {
            ((volatile uint32_t *)region)[p * 1024 + 3] = pass;
        }

        unsigned long bad = 0;
        for (size_t p = 0; p < pages; p++) {
            volatile uint32_t *page = region + p * 1024;
            if (page[0] != m0 || page[1] != m1 || page[2] != (uint32_t)p || page[3] != pass) {
                if (bad++ < 4) {
                    printf("abcheck: ERROR pass %u page %zu holds %08x %08x %u %u\n", pass, p, page[0], page[1], page[2], page[3]);
                }
            }
        }

        errors += bad;
        if (bad == 0) {
            printf("abcheck: pass %u ok\n", pass);
        } else {
            printf("abcheck: pass %u FAILED: %lu bad pages (%lu errors in all)\n", pass, bad, errors);
        }

        fflush(stdout);
        if (delay_ms > 0) {
            nanosleep(&pause, NULL);
        }
    }
}
