/*
 * timeparse: the TIME of "restore --at TIME".
 *
 * Accepted (T may be t or a blank, Z may be z):
 *   2026-11-20T12:00Z, 2026-11-20T12:00:00Z, 2026-11-20T12:00:00.123Z
 *   2026-11-20T12:00:00+01:00 (also +0100, and -HH:MM)
 *   2026-11-20T12:00, 2026-11-20 12:00:00    no zone: wall-clock time in tz
 *   2026-11-20                               midnight at the start of that day in tz
 *   20261120T120000Z                         a backup ID
 * Fractional seconds are accepted and dropped (times are whole seconds); a
 * leap second :60 counts as :59.  A local time in tz that occurs twice (the
 * hour repeated when clocks fall back) means its first occurrence; one
 * skipped by a spring-forward gap means the first instant after the gap (see
 * tz_mktime()).
 */
#ifndef KB_TIMEPARSE_H
#define KB_TIMEPARSE_H

#include <stddef.h>
#include <time.h>

/*
 * Parses s; tz (NULL for UTC) applies to a time without zone.  On error
 * returns -1 with a message naming the forms expected.
 */
int	 time_parse(const char *s, const char *tz, time_t *out, char *err, size_t errlen);

#endif
