/*
 * tz: local time in a named timezone, by switching TZ under a mutex.
 * See tz.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tz.h"
#include "common/util.h"

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define TZ_TMIN		(-62135596800LL)
#define TZ_TMAX		(253402300799LL)
/* Real UTC offsets lie within -12h..+14h; probe a little beyond. */
#define TZ_PROBE_BEFORE	(15 * 3600)
#define TZ_PROBE_AFTER	(13 * 3600)

static pthread_mutex_t	tz_lock = PTHREAD_MUTEX_INITIALIZER;

int
tz_is_utc(const char *tz)
{
	return tz == NULL || *tz == '\0' || strcmp(tz, "UTC") == 0;
}

int
tz_valid(const char *tz)
{
	char		 path[sizeof(TZ_DIR) + TZ_NAME_MAX + 2];
	struct stat	 st;
	const char	*p;

	if (tz_is_utc(tz))
		return 1;
	if (strlen(tz) > TZ_NAME_MAX || tz[0] == '/' || tz[0] == ':' ||
	    strstr(tz, "..") != NULL)
		return 0;
	for (p = tz; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/_+-", *p) != NULL))
			return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", TZ_DIR, tz) >= sizeof(path))
		return 0;
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	return 1;
}

/* Sets TZ to tz under the lock; *saved gets the previous value to restore. */
static void
tz_enter(const char *tz, char **saved)
{
	const char	*old;

	pthread_mutex_lock(&tz_lock);
	old = getenv("TZ");
	*saved = xstrdup_or_null(old);
	setenv("TZ", tz, 1);
	tzset();
}

static void
tz_leave(char *saved)
{
	if (saved != NULL) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
}

int
tz_localtime(const char *tz, time_t t, struct tm *out)
{
	char	*saved;
	int	 ok;

	if ((long long)t < TZ_TMIN || (long long)t > TZ_TMAX)
		return -1;
	if (tz_is_utc(tz))
		return gmtime_r(&t, out) != NULL ? 0 : -1;
	if (!tz_valid(tz))
		return -1;
	tz_enter(tz, &saved);
	ok = localtime_r(&t, out) != NULL;
	tz_leave(saved);
	return ok ? 0 : -1;
}

int
tz_utcoff(const char *tz, time_t t, long *off)
{
	struct tm	tm;

	if (tz_localtime(tz, t, &tm) == -1)
		return -1;
	*off = tm.tm_gmtoff;
	return 0;
}

/* Offset at t with TZ already switched (under the lock). */
static long
offset_locked(time_t t)
{
	struct tm	tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/*
 * With TZ switched: resolve the wall time t0 (seconds as if it were UTC)
 * to an instant, by the rules in tz.h.
 */
static time_t
resolve_locked(time_t t0)
{
	long	off_a, off_b;
	time_t	lo, hi, mid, t1, t2;

	off_a = offset_locked(t0 - TZ_PROBE_BEFORE);
	off_b = offset_locked(t0 + TZ_PROBE_AFTER);
	if (off_a == off_b)
		return t0 - off_a;
	/* One transition in the window: find its instant T (first with off_b). */
	lo = t0 - TZ_PROBE_BEFORE;
	hi = t0 + TZ_PROBE_AFTER;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (offset_locked(mid) == off_a)
			lo = mid;
		else
			hi = mid;
	}
	t1 = t0 - off_a;	/* valid if before T */
	t2 = t0 - off_b;	/* valid if at or after T */
	if (t1 < hi)
		return t1;	/* the first (or only) occurrence */
	if (t2 >= hi)
		return t2;
	return hi;		/* skipped: first instant after the gap */
}

int
tz_mktime(const char *tz, struct tm *tm, time_t *out)
{
	struct tm	 w;
	char		*saved;
	time_t		 t0, t;
	int		 ok;

	w = *tm;
	w.tm_isdst = 0;
	w.tm_gmtoff = 0;
	errno = 0;
	t0 = timegm(&w);
	if (t0 == (time_t)-1 && errno == EOVERFLOW)
		return -1;
	if ((long long)t0 < TZ_TMIN + 86400 || (long long)t0 > TZ_TMAX - 86400)
		return -1;
	if (tz_is_utc(tz)) {
		*out = t0;
		return gmtime_r(&t0, tm) != NULL ? 0 : -1;
	}
	if (!tz_valid(tz))
		return -1;
	tz_enter(tz, &saved);
	t = resolve_locked(t0);
	ok = localtime_r(&t, tm) != NULL;
	tz_leave(saved);
	*out = t;
	return ok ? 0 : -1;
}
