/*
 * cron: parsing of 5-field cron expressions and the search for the next run
 * in a timezone.  See cron.h for the accepted syntax and the DST rules.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/cron.h"
#include "common/tz.h"
#include "common/util.h"

/* Feb 29 with a fixed weekday can be 8 years away (2096 -> 2104). */
#define CRON_MAX_DAYS	(366 * 10)
#define DAY		86400LL
/* Offsets lie within -12h..+14h: probe a day's instants a little beyond. */
#define PROBE_BEFORE	(15 * 3600LL)
#define PROBE_AFTER	(DAY + 13 * 3600LL)

enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

struct field {
	const char	 *name;
	int		  lo, hi;
	const char *const *names;	/* names[i] is value lo_name + i */
	int		  name_base;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec", NULL
};
static const char *const wday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const struct field fields[F_COUNT] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day-of-month", 1, 31, NULL, 0 },
	{ "month", 1, 12, month_names, 1 },
	{ "day-of-week", 0, 7, wday_names, 0 },
};

static const struct {
	const char	*name;
	const char	*expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static const int mdays_max[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

#define EXPECTED_FORMS	"expected 5 fields (minute hour day-of-month month " \
	"day-of-week), @hourly, @daily, @weekly, @monthly, @yearly or @every DURATION"

/*
 * One value: a number or (where the field has them) a name.  *s advances
 * past it.
 */
static int
parse_value(const struct field *f, const char **s, int *v, char *err, size_t errlen)
{
	const char	*p = *s;
	long		 n;
	int		 i;

	if (isdigit((unsigned char)*p)) {
		n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n < 100000)
				n = n * 10 + (*p - '0');
			p++;
		}
		if (n < f->lo || n > f->hi)
			return errf(err, errlen, "%s field: %.*s is out of range %d-%d",
			    f->name, (int)(p - *s) > 12 ? 12 : (int)(p - *s), *s,
			    f->lo, f->hi);
		*v = (int)n;
		*s = p;
		return 0;
	}
	if (f->names != NULL && isalpha((unsigned char)*p)) {
		while (isalpha((unsigned char)*p))
			p++;
		for (i = 0; f->names[i] != NULL; i++) {
			if (p - *s == 3 && strncasecmp(*s, f->names[i], 3) == 0) {
				*v = f->name_base + i;
				*s = p;
				return 0;
			}
		}
		return errf(err, errlen, "%s field: unknown name \"%.*s\" (expected %s)",
		    f->name, (int)(p - *s) > 12 ? 12 : (int)(p - *s), *s,
		    f->names == month_names ? "jan..dec" : "sun..sat");
	}
	if (*p == '\0' || *p == ',')
		return errf(err, errlen, "%s field: a number is missing", f->name);
	return errf(err, errlen, "%s field: unexpected \"%c\"%s", f->name, *p,
	    f->names != NULL ? " (expected a number or a name)" : " (expected a number)");
}

/* One list item: *, N, N-M, with optional /S.  Sets bits in *mask. */
static int
parse_item(const struct field *f, const char *s, uint64_t *mask, char *err, size_t errlen)
{
	int	lo, hi, step = 1, v;
	long	n;

	if (*s == '*') {
		lo = f->lo;
		hi = f->hi == 7 ? 6 : f->hi;
		s++;
	} else {
		if (parse_value(f, &s, &lo, err, errlen) == -1)
			return -1;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_value(f, &s, &hi, err, errlen) == -1)
				return -1;
			if (hi < lo)
				return errf(err, errlen, "%s field: range %d-%d is backwards",
				    f->name, lo, hi);
		}
	}
	if (*s == '/') {
		s++;
		if (!isdigit((unsigned char)*s))
			return errf(err, errlen, "%s field: a step needs a number after \"/\"",
			    f->name);
		n = 0;
		while (isdigit((unsigned char)*s)) {
			if (n < 100000)
				n = n * 10 + (*s - '0');
			s++;
		}
		if (n < 1 || n > f->hi)
			return errf(err, errlen, "%s field: step %ld is out of range 1-%d",
			    f->name, n, f->hi);
		step = (int)n;
		if (hi == lo)
			hi = f->hi;	/* N/S: from N to the end */
	}
	if (*s != '\0')
		return errf(err, errlen, "%s field: unexpected \"%c\"", f->name, *s);
	for (v = lo; v <= hi; v += step)
		*mask |= 1ULL << (f->hi == 7 && v == 7 ? 0 : v);
	return 0;
}

static int
parse_field(int idx, const char *text, uint64_t *mask, char *err, size_t errlen)
{
	const struct field	*f = &fields[idx];
	char			 item[CRON_EXPR_MAX];
	const char		*p, *comma;
	size_t			 len;

	*mask = 0;
	for (p = text;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0)
			return errf(err, errlen, "%s field: empty item in list", f->name);
		if (len >= sizeof(item))
			return errf(err, errlen, "%s field: too long", f->name);
		memcpy(item, p, len);
		item[len] = '\0';
		if (parse_item(f, item, mask, err, errlen) == -1)
			return -1;
		if (comma == NULL)
			break;
	}
	return 0;
}

static int
parse_every(const char *arg, struct cron *c, char *err, size_t errlen)
{
	int64_t	d;

	while (*arg == ' ' || *arg == '\t')
		arg++;
	if (*arg == '\0')
		return errf(err, errlen, "@every needs a duration, e.g. @every 30m");
	if (config_parse_duration(arg, &d) == -1)
		return errf(err, errlen, "@every: bad duration \"%.32s\" (expected e.g. "
		    "30m, 1h, 1h30m, 2d)", arg);
	if (d < 1)
		return errf(err, errlen, "@every: duration must be at least 1s");
	c->every = d;
	return 0;
}

/* Rejects day/month combinations that never occur (0 0 30 2 *). */
static int
check_days(const struct cron *c, char *err, size_t errlen)
{
	int	m, d;

	if ((c->flags & CRON_DOM_STAR) || !(c->flags & CRON_DOW_STAR))
		return 0;
	for (m = 1; m <= 12; m++) {
		if (!(c->months & (1U << m)))
			continue;
		for (d = 1; d <= mdays_max[m]; d++)
			if (c->mdays & (1U << d))
				return 0;
	}
	return errf(err, errlen, "day-of-month field: no day given exists in the "
	    "months given");
}

static int
parse_fields(const char *expr, struct cron *c, char *err, size_t errlen)
{
	char		 buf[CRON_EXPR_MAX];
	char		*tok[F_COUNT + 1], *p, *save = NULL;
	uint64_t	 mask[F_COUNT];
	int		 n = 0, i;

	strlcpy(buf, expr, sizeof(buf));
	for (p = strtok_r(buf, " \t", &save); p != NULL; p = strtok_r(NULL, " \t", &save)) {
		if (n == F_COUNT)
			return errf(err, errlen, "%s; got more than 5", EXPECTED_FORMS);
		tok[n++] = p;
	}
	if (n != F_COUNT)
		return errf(err, errlen, "%s; got %d", EXPECTED_FORMS, n);
	for (i = 0; i < F_COUNT; i++)
		if (parse_field(i, tok[i], &mask[i], err, errlen) == -1)
			return -1;
	c->minutes = mask[F_MIN];
	c->hours = (uint32_t)mask[F_HOUR];
	c->mdays = (uint32_t)mask[F_DOM];
	c->months = (uint16_t)mask[F_MON];
	c->wdays = (uint8_t)mask[F_DOW];
	if (tok[F_DOM][0] == '*')
		c->flags |= CRON_DOM_STAR;
	if (tok[F_DOW][0] == '*')
		c->flags |= CRON_DOW_STAR;
	if (tok[F_HOUR][0] == '*')
		c->flags |= CRON_HOUR_STAR;
	return check_days(c, err, errlen);
}

int
cron_parse(const char *expr, struct cron *c, char *err, size_t errlen)
{
	size_t	i, len;

	memset(c, 0, sizeof(*c));
	while (*expr == ' ' || *expr == '\t')
		expr++;
	len = strlen(expr);
	while (len > 0 && (expr[len - 1] == ' ' || expr[len - 1] == '\t'))
		len--;
	if (len == 0)
		return errf(err, errlen, "empty schedule: %s", EXPECTED_FORMS);
	if (len >= CRON_EXPR_MAX)
		return errf(err, errlen, "schedule longer than %d characters",
		    CRON_EXPR_MAX - 1);
	for (i = 0; i < len; i++)
		if (!isprint((unsigned char)expr[i]) && expr[i] != '\t')
			return errf(err, errlen, "schedule contains a control character");
	if (expr[0] != '@') {
		char	buf[CRON_EXPR_MAX];

		memcpy(buf, expr, len);
		buf[len] = '\0';
		return parse_fields(buf, c, err, errlen);
	}
	if (len > 6 && strncasecmp(expr, "@every", 6) == 0 &&
	    (expr[6] == ' ' || expr[6] == '\t')) {
		char	buf[CRON_EXPR_MAX];

		memcpy(buf, expr + 7, len - 7);
		buf[len - 7] = '\0';
		return parse_every(buf, c, err, errlen);
	}
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strlen(macros[i].name) == len &&
		    strncasecmp(expr, macros[i].name, len) == 0)
			return parse_fields(macros[i].expr, c, err, errlen);
	if (len == 6 && strncasecmp(expr, "@every", 6) == 0)
		return errf(err, errlen, "@every needs a duration, e.g. @every 30m");
	return errf(err, errlen, "unknown schedule \"%.*s\": %s",
	    len > 32 ? 32 : (int)len, expr, EXPECTED_FORMS);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long long
days_from_civil(long long y, int m, int d)
{
	long long	era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void
civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long	era;
	unsigned	doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (long long)yoe + era * 400 + (*m <= 2);
}

static int
day_matches(const struct cron *c, long long day)
{
	long long	y;
	int		m, d, wd, dom, dow;

	civil_from_days(day, &y, &m, &d);
	if (!(c->months & (1U << m)))
		return 0;
	wd = (int)(((day % 7) + 7 + 4) % 7);	/* 1970-01-01 was a Thursday */
	dom = (c->mdays >> d) & 1;
	dow = (c->wdays >> wd) & 1;
	if ((c->flags & CRON_DOM_STAR) || (c->flags & CRON_DOW_STAR))
		return dom && dow;
	return dom || dow;
}

/*
 * The offsets around one local day and, when they differ, the instant of the
 * transition between them (the first with the new offset).
 */
struct dayzone {
	long	off_a, off_b;
	time_t	trans;
};

static int
day_zone(const char *tz, time_t midnight, struct dayzone *z)
{
	time_t	lo, hi, mid;
	long	off;

	z->trans = 0;
	if (tz_is_utc(tz)) {
		z->off_a = z->off_b = 0;
		return 0;
	}
	if (tz_utcoff(tz, midnight - PROBE_BEFORE, &z->off_a) == -1 ||
	    tz_utcoff(tz, midnight + PROBE_AFTER, &z->off_b) == -1)
		return -1;
	if (z->off_a == z->off_b)
		return 0;
	lo = midnight - PROBE_BEFORE;
	hi = midnight + PROBE_AFTER;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (tz_utcoff(tz, mid, &off) == -1)
			return -1;
		if (off == z->off_a)
			lo = mid;
		else
			hi = mid;
	}
	z->trans = hi;
	return 0;
}

/*
 * Earliest run on the local day starting at wall-clock `midnight` (seconds
 * as if UTC) that is after `after`.  1 and *t if there is one, 0 if not.
 */
static int
day_first(const struct cron *c, const struct dayzone *z, time_t midnight, time_t after,
    time_t *t)
{
	time_t	w, t1, t2, cand[2], best = 0;
	int	h, m, n, i, found = 0, wild = c->flags & CRON_HOUR_STAR;

	for (h = 0; h < 24; h++) {
		if (!(c->hours & (1U << h)))
			continue;
		for (m = 0; m < 60; m++) {
			if (!(c->minutes & (1ULL << m)))
				continue;
			w = midnight + h * 3600 + m * 60;
			n = 0;
			if (z->off_a == z->off_b) {
				cand[n++] = w - z->off_a;
			} else {
				t1 = w - z->off_a;
				t2 = w - z->off_b;
				if (t1 < z->trans)
					cand[n++] = t1;
				if (t2 >= z->trans && (wild || n == 0))
					cand[n++] = t2;
				if (n == 0 && !wild)
					cand[n++] = z->trans;	/* skipped: after the gap */
			}
			for (i = 0; i < n; i++) {
				if (cand[i] > after && (!found || cand[i] < best)) {
					best = cand[i];
					found = 1;
				}
			}
			/* Without a transition, the first hit is the earliest. */
			if (found && z->off_a == z->off_b) {
				*t = best;
				return 1;
			}
		}
	}
	if (found)
		*t = best;
	return found;
}

static int
next_every(const struct cron *c, time_t after, time_t *next)
{
	long long	q;

	q = (long long)after / c->every;
	if ((long long)after % c->every < 0)
		q--;
	*next = (time_t)((q + 1) * c->every);
	return 0;
}

int
cron_next(const struct cron *c, const char *tz, time_t after, time_t *next)
{
	struct tm	 tm;
	struct dayzone	 z;
	long long	 day, i, y;
	time_t		 midnight;
	int		 m, d;

	if (c->every > 0)
		return next_every(c, after, next);
	if (c->minutes == 0 || c->hours == 0 || c->months == 0)
		return -1;
	if (tz_localtime(tz, after, &tm) == -1)
		return -1;
	/* Start a day early: a repeated hour can belong to the previous date. */
	day = days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1, tm.tm_mday) - 1;
	for (i = 0; i < CRON_MAX_DAYS; i++, day++) {
		if (!day_matches(c, day))
			continue;
		civil_from_days(day, &y, &m, &d);
		if (y > 9998)
			return -1;
		midnight = (time_t)(day * DAY);
		if (day_zone(tz, midnight, &z) == -1)
			return -1;
		if (midnight + DAY + 14 * 3600 <= after)
			continue;
		if (day_first(c, &z, midnight, after, next))
			return 0;
	}
	return -1;
}

/*
 * A set of values lo..hi as systemd writes it: "*", "00/15", "01..05",
 * "00,12".
 */
static int
fmt_set(uint64_t mask, int lo, int hi, char *buf, size_t len)
{
	char	item[32];
	int	v, w, first = -1, count = 0, step = 0, ok;

	buf[0] = '\0';
	for (v = lo; v <= hi; v++) {
		if (mask & (1ULL << v)) {
			if (first == -1)
				first = v;
			else if (step == 0)
				step = v - first;
			count++;
		}
	}
	if (count == hi - lo + 1)
		return strlcpy(buf, "*", len) < len ? 0 : -1;
	if (count >= 3 && step >= 2) {
		ok = 1;
		for (v = lo; v <= hi; v++) {
			w = v >= first && (v - first) % step == 0;
			if (w != (int)((mask >> v) & 1))
				ok = 0;
		}
		if (ok) {
			snprintf(item, sizeof(item), "%02d/%d", first, step);
			return strlcpy(buf, item, len) < len ? 0 : -1;
		}
	}
	for (v = lo; v <= hi; v++) {
		if (!(mask & (1ULL << v)))
			continue;
		for (w = v; w + 1 <= hi && (mask & (1ULL << (w + 1))); w++)
			;
		if (w - v >= 2)
			snprintf(item, sizeof(item), "%s%02d..%02d", *buf ? "," : "", v, w);
		else if (w - v == 1)
			snprintf(item, sizeof(item), "%s%02d,%02d", *buf ? "," : "", v, w);
		else
			snprintf(item, sizeof(item), "%s%02d", *buf ? "," : "", v);
		if (strlcat(buf, item, len) >= len)
			return -1;
		v = w;
	}
	return 0;
}

/* Weekdays in systemd's Monday-first order: "Mon..Fri", "Sat,Sun". */
static int
fmt_wdays(uint8_t mask, char *buf, size_t len)
{
	static const char *const names[] = {
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
	};
	char	item[32];
	int	on[7], i, j;

	for (i = 0; i < 7; i++)
		on[i] = (mask >> ((i + 1) % 7)) & 1;
	buf[0] = '\0';
	for (i = 0; i < 7; i++) {
		if (!on[i])
			continue;
		for (j = i; j + 1 < 7 && on[j + 1]; j++)
			;
		if (j - i >= 2)
			snprintf(item, sizeof(item), "%s%s..%s", *buf ? "," : "",
			    names[i], names[j]);
		else if (j - i == 1)
			snprintf(item, sizeof(item), "%s%s,%s", *buf ? "," : "",
			    names[i], names[j]);
		else
			snprintf(item, sizeof(item), "%s%s", *buf ? "," : "", names[i]);
		if (strlcat(buf, item, len) >= len)
			return -1;
		i = j;
	}
	return 0;
}

static int
fmt_line(const char *dow, const char *mon, const char *dom, const char *hour,
    const char *min, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%s%s*-%s-%s %s:%s:00", dow, *dow ? " " : "", mon, dom,
	    hour, min);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
cron_oncalendar(const struct cron *c, char *buf, size_t len)
{
	char	dow[64], mon[64], dom[128], hour[128], min[256], line2[512];
	size_t	l;

	if (c->every > 0 || len == 0)
		return -1;
	dow[0] = '\0';
	if ((c->wdays & 0x7f) != 0x7f && fmt_wdays(c->wdays, dow, sizeof(dow)) == -1)
		return -1;
	if (fmt_set(c->months, 1, 12, mon, sizeof(mon)) == -1 ||
	    fmt_set(c->mdays, 1, 31, dom, sizeof(dom)) == -1 ||
	    fmt_set(c->hours, 0, 23, hour, sizeof(hour)) == -1 ||
	    fmt_set(c->minutes, 0, 59, min, sizeof(min)) == -1)
		return -1;
	if ((c->flags & CRON_DOM_STAR) || (c->flags & CRON_DOW_STAR))
		return fmt_line(dow, mon, dom, hour, min, buf, len);
	/* Vixie's OR rule: one line per day rule. */
	if (fmt_line(dow, mon, "*", hour, min, buf, len) == -1 ||
	    fmt_line("", mon, dom, hour, min, line2, sizeof(line2)) == -1)
		return -1;
	l = strlen(buf);
	if (l + 1 + strlen(line2) + 1 > len)
		return -1;
	buf[l] = '\n';
	strlcpy(buf + l + 1, line2, len - l - 1);
	return 1;
}

int64_t
cron_interval_hint(const struct cron *c)
{
	time_t	t, prev, start = 1767225600;	/* 2026-01-01T00:00:00Z */
	int64_t	gap = -1;
	int	i;

	if (c->every > 0)
		return c->every;
	if (cron_next(c, NULL, start, &prev) == -1)
		return -1;
	for (i = 0; i < 64; i++) {
		if (cron_next(c, NULL, prev, &t) == -1)
			break;
		if (t - prev > gap)
			gap = t - prev;
		prev = t;
		if (prev - start > 400 * DAY)
			break;
	}
	return gap;
}
