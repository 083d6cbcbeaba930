/* units: IEC binary units for sizes and rates in text output (units.h). */
#include "units.h"

#include <stdio.h>

static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

static const char *fmt(double x, const char *suffix, char *buf, size_t len)
{
    int u = 0;
    while (x >= 1024 && u < 6) {
        x /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s%s" : "%.0f %s%s", x, units[u], suffix);
    return buf;
}

const char *mc_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
    return fmt((double)bytes, "", buf, len);
}

const char *mc_fmt_rate(double bytes_per_second, char *buf, size_t len)
{
    return fmt(bytes_per_second > 0 ? bytes_per_second : 0, "/s", buf, len);
}
