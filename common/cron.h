/*
 * cron: schedules for the daemon (kbackup.conf [backup] schedule).
 *
 * Accepted expressions:
 *   - five fields, "minute hour day-of-month month day-of-week", separated
 *     by blanks.  Each field is "*" or a comma-separated list of items; an
 *     item is N, N-M, *\/S, N-M/S or N/S (N/S means N-max/S).  Ranges are
 *     inclusive; a backwards range is an error.  Months may be given as
 *     jan..dec, weekdays as sun..sat (case-insensitive, also inside ranges:
 *     mon-fri); weekday 0 and 7 are both Sunday.
 *     Bounds: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12,
 *     day-of-week 0-7.
 *   - Vixie cron's day rule: when both day-of-month and day-of-week are
 *     restricted (neither field starts with "*"), a day matches if EITHER
 *     matches ("0 0 1 * mon" = the 1st of each month and every Monday).
 *     Otherwise both must match.  As in Vixie cron, "*\/2" counts as starting
 *     with "*".
 *   - @yearly (@annually) = 0 0 1 1 *, @monthly = 0 0 1 * *,
 *     @weekly = 0 0 * * 0, @daily (@midnight) = 0 0 * * *, @hourly = 0 * * * *.
 *   - @every DURATION (30m, 1h, 1h30m, 2d; units s m h d w; at least 1s):
 *     runs at the multiples of DURATION counted from the Unix epoch, so
 *     "@every 30m" runs at :00 and :30 UTC whatever the start time.  The
 *     timezone does not apply to it.
 *   An expression that can never run without the OR rule (0 0 30 2 *) is
 *   rejected.
 *
 * Times are evaluated as wall-clock times in the configured timezone (see
 * tz.h).  Daylight saving time:
 *   - a wall-clock time skipped when clocks spring forward runs once, right
 *     after the gap (30 2 * * * runs at 03:00 on that day in Europe/Berlin);
 *   - a wall-clock time repeated when clocks fall back runs once, at its first
 *     occurrence;
 *   - except schedules whose hour field starts with "*" (*\/15 * * * *,
 *     @hourly): they follow the clock, as Vixie cron's "wildcard" jobs do:
 *     they run at both occurrences of a repeated hour and not at all for
 *     skipped times (the next regular run comes right after the gap anyway).
 * docs/cron-dst.txt says the same for the man page.
 *
 * Runs are on whole minutes (second 0).  Nothing here allocates.
 */
#ifndef KB_CRON_H
#define KB_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CRON_EXPR_MAX	256

#define CRON_DOM_STAR	0x1	/* day-of-month field started with "*" */
#define CRON_DOW_STAR	0x2	/* day-of-week field started with "*" */
#define CRON_HOUR_STAR	0x4	/* hour field started with "*": follows the clock */

struct cron {
	uint64_t	minutes;	/* bit m: minute m (0-59) */
	uint32_t	hours;		/* bit h: hour h (0-23) */
	uint32_t	mdays;		/* bit d: day d of the month (1-31) */
	uint16_t	months;		/* bit m: month m (1-12) */
	uint8_t		wdays;		/* bit w: weekday w (0-6, 0 = Sunday) */
	int		flags;		/* CRON_*_STAR */
	int64_t		every;		/* @every: seconds; 0 for calendar schedules */
};

/*
 * Parses expr into *c.  On error returns -1 with a message naming the field
 * and the problem, e.g. "minute field: 61 is out of range 0-59".
 */
int	 cron_parse(const char *expr, struct cron *c, char *err, size_t errlen);

/*
 * The first run strictly after `after`, evaluated in timezone tz (NULL or
 * "UTC" for UTC; see tz.h).  0, or -1 when tz is invalid or no run exists
 * within about ten years of `after`.
 */
int	 cron_next(const struct cron *c, const char *tz, time_t after, time_t *next);

/*
 * systemd OnCalendar= equivalent, e.g. "*-*-* 03:00:00",
 * "Mon..Fri *-*-* 09:30:00", "*-*-* 00,12:00:00", "*-*-* *:00/15:00".
 * The caller appends " TIMEZONE" for a timezone other than UTC (systemd
 * accepts a trailing zone name).  Returns 0 with one expression in buf;
 * 1 with two expressions separated by '\n' (the Vixie OR rule: give each as
 * its own OnCalendar= line); -1 for @every, which has no equivalent (use
 * OnUnitActiveSec=), or when buf is too small.
 */
int	 cron_oncalendar(const struct cron *c, char *buf, size_t len);

/*
 * Longest gap in seconds between consecutive runs, sampled over up to 64
 * runs (in UTC) — what "overdue" should mean for alerts (allow some slack).
 * @every gives its duration.  -1 if no run can be found.
 */
int64_t	 cron_interval_hint(const struct cron *c);

#endif
