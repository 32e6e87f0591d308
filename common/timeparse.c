/*
 * timeparse: RFC 3339 and local times for "restore --at".  See timeparse.h.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "common/timeparse.h"
#include "common/tz.h"
#include "common/util.h"

#define TP_FORMS	"expected a time such as 2026-11-20, 2026-11-20T12:00, " \
	"2026-11-20T12:00:00Z or 2026-11-20T12:00:00+01:00"

/* Exactly n digits at *p; advances. */
static int
digits(const char **p, int n, int *v)
{
	int	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int	days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Parses the zone suffix: Z, +HH:MM, +HHMM; *off in seconds east of UTC. */
static int
parse_zone(const char *p, long *off)
{
	int	sign, h, m;

	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*off = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p == '-' ? -1 : 1;
	p++;
	if (digits(&p, 2, &h) == -1)
		return -1;
	if (*p == ':')
		p++;
	if (digits(&p, 2, &m) == -1 || *p != '\0' || h > 23 || m > 59)
		return -1;
	*off = sign * (h * 3600L + m * 60L);
	return 0;
}

int
time_parse(const char *s, const char *tz, time_t *out, char *err, size_t errlen)
{
	struct tm	 tm;
	const char	*p = s;
	int		 y, mo, d, h = 0, mi = 0, sec = 0, has_zone = 0;
	long		 off = 0;

	if (strlen(s) == 16 && id_to_time(s, out) == 0)
		return 0;
	if (digits(&p, 4, &y) == -1 || *p++ != '-' || digits(&p, 2, &mo) == -1 ||
	    *p++ != '-' || digits(&p, 2, &d) == -1)
		goto bad;
	if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return errf(err, errlen, "bad time \"%.40s\": no such date", s);
	if (*p != '\0') {
		if (*p != 'T' && *p != 't' && *p != ' ')
			goto bad;
		p++;
		if (digits(&p, 2, &h) == -1 || *p++ != ':' || digits(&p, 2, &mi) == -1)
			goto bad;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) == -1)
				goto bad;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					goto bad;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return errf(err, errlen, "bad time \"%.40s\": hour, minute or "
			    "second out of range", s);
		if (sec == 60)
			sec = 59;
		if (*p != '\0') {
			if (parse_zone(p, &off) == -1)
				goto bad;
			has_zone = 1;
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (has_zone) {
		*out = timegm(&tm) - off;
		return 0;
	}
	if (tz_mktime(tz, &tm, out) == -1)
		return errf(err, errlen, "bad time \"%.40s\": cannot convert it in "
		    "timezone %s", s, tz != NULL ? tz : "UTC");
	return 0;
bad:
	return errf(err, errlen, "bad time \"%.40s\": %s (a time without zone is in "
	    "timezone %s)", s, TP_FORMS, tz != NULL && *tz != '\0' ? tz : "UTC");
}
