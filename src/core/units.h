/* units: the one unit system of human-readable sizes and rates in
 * mpicompact's output (docs/USAGE.md, "Sizes, numbers, keys"): IEC binary
 * units, B, KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024), the same units
 * the SIZE options accept; rates in the same units per second. JSON output
 * gives exact byte counts instead. */
#ifndef MC_UNITS_H
#define MC_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "0 B", "512 B", "1.5 KiB", "64.0 MiB" into BUF (LEN >= 16); returns BUF. */
const char *mc_fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* "12.3 MiB/s" into BUF (LEN >= 20); returns BUF. */
const char *mc_fmt_rate(double bytes_per_second, char *buf, size_t len);

#endif
