/*
 * tz: broken-down time in a named IANA timezone ("Europe/Berlin"), safe to
 * call from several threads.
 *
 * The C library offers local time only for the process-wide TZ.  These
 * functions switch TZ and call tzset() under a mutex, and put the previous
 * TZ back before they return, so the rest of the program (and the log, which
 * uses UTC) never sees the switch.  NULL, "" and "UTC" take a fast path with
 * gmtime_r()/timegm() and no lock.  Nothing else in the program may change
 * TZ while these are in use.
 *
 * A name is valid when it is "UTC" or names a file under
 * /usr/share/zoneinfo; check it with tz_valid() when the config is loaded:
 * tz_localtime() and tz_mktime() refuse a name tz_valid() rejects (glibc
 * would silently use UTC for it).
 */
#ifndef KB_TZ_H
#define KB_TZ_H

#include <time.h>

#define TZ_DIR		"/usr/share/zoneinfo"
#define TZ_NAME_MAX	128

/* 1 if tz is NULL, "", "UTC" or names a zoneinfo file; no "..", no leading '/'. */
int	 tz_valid(const char *tz);

/* 1 if tz is NULL, "" or "UTC" (no lookups needed). */
int	 tz_is_utc(const char *tz);

/*
 * t as local time in tz; out->tm_gmtoff is the UTC offset in effect (seconds
 * east), out->tm_isdst whether daylight saving time is.  0, or -1 for an
 * invalid tz or a t outside the years 1..9999.
 */
int	 tz_localtime(const char *tz, time_t t, struct tm *out);

/* UTC offset (seconds east of UTC) in tz at instant t; 0 or -1 as above. */
int	 tz_utcoff(const char *tz, time_t t, long *off);

/*
 * The instant at which the wall clock in tz shows *tm (tm_year, tm_mon,
 * tm_mday, tm_hour, tm_min, tm_sec; out-of-range fields are normalized as
 * mktime() does; tm_isdst is ignored).  Unlike mktime() the result does not
 * depend on a guess:
 *   - a wall-clock time that occurs twice (the hour repeated when clocks
 *     fall back) gives its first occurrence (the earlier instant);
 *   - a wall-clock time skipped by a gap (clocks spring forward) gives the
 *     first instant after the gap (02:30 on a spring-forward day in
 *     Europe/Berlin gives 03:00 CEST).
 * *tm is rewritten to the local time of the result (so a caller can tell
 * that a time was skipped).  0, or -1 for an invalid tz.
 */
int	 tz_mktime(const char *tz, struct tm *tm, time_t *out);

#endif
