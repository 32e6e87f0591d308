/*
 * test_cron: cron expressions, the next run in a timezone (with DST), the
 * systemd OnCalendar= rendering; also tz and time_parse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/cron.h"
#include "common/timeparse.h"
#include "common/tz.h"
#include "common/util.h"
#include "tests/unit/testutil.h"

static void
parse_ok(const char *expr, struct cron *c)
{
	char	err[KB_ERRLEN] = "";

	if (cron_parse(expr, c, err, sizeof(err)) == -1)
		fail_msg("cron_parse(\"%s\"): %s", expr, err);
}

/* Asserts the run after `after` (UTC text) in tz, as UTC text. */
static void
next_is(const char *expr, const char *tz, const char *after, const char *want)
{
	struct cron	c;
	time_t		t;
	char		got[21];

	parse_ok(expr, &c);
	assert_int_equal(cron_next(&c, tz, tu_utc(after), &t), 0);
	time_to_rfc3339(t, got);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" in %s after %s: got %s, want %s", expr, tz ? tz : "UTC",
		    after, got, want);
}

/* A sequence of runs: want[0] after `after`, want[1] after want[0], ... */
static void
sequence_is(const char *expr, const char *tz, const char *after, const char **want)
{
	const char	*prev = after;
	int		 i;

	for (i = 0; want[i] != NULL; i++) {
		next_is(expr, tz, prev, want[i]);
		prev = want[i];
	}
}

static void
test_field_forms(void **state)
{
	struct cron	c;
	uint64_t	m;
	int		i;

	parse_ok("*/15 * * * *", &c);
	assert_true(c.minutes == (1ULL << 0 | 1ULL << 15 | 1ULL << 30 | 1ULL << 45));
	assert_int_equal(c.hours, 0xffffff);
	assert_int_equal(c.months, 0x1ffe);
	assert_int_equal(c.wdays, 0x7f);
	assert_int_equal(c.mdays, 0xfffffffe);

	parse_ok("1-10/2 3,5,7-9 1,15 * *", &c);
	for (m = 0, i = 1; i <= 9; i += 2)
		m |= 1ULL << i;
	assert_true(c.minutes == m);
	assert_int_equal(c.hours, 1 << 3 | 1 << 5 | 1 << 7 | 1 << 8 | 1 << 9);
	assert_int_equal(c.mdays, 1 << 1 | 1 << 15);

	parse_ok("5/20 0 * * *", &c);	/* N/S: N to the end */
	assert_true(c.minutes == (1ULL << 5 | 1ULL << 25 | 1ULL << 45));

	parse_ok("  0   12\t* * *  ", &c);
	assert_int_equal(c.hours, 1 << 12);

	next_is("*/15 * * * *", NULL, "2026-03-10T10:07:00Z", "2026-03-10T10:15:00Z");
	next_is("*/15 * * * *", NULL, "2026-03-10T10:15:00Z", "2026-03-10T10:30:00Z");
	next_is("*/15 * * * *", NULL, "2026-03-10T23:59:30Z", "2026-03-11T00:00:00Z");
	next_is("0 3 * * *", NULL, "2026-03-10T03:00:00Z", "2026-03-11T03:00:00Z");
	next_is("0 3 * * *", NULL, "2026-03-10T02:59:59Z", "2026-03-10T03:00:00Z");
	next_is("0 0,12 * * *", NULL, "2026-12-31T12:00:00Z", "2027-01-01T00:00:00Z");
	next_is("0 0 1 */3 *", NULL, "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z");
}

static void
test_names(void **state)
{
	struct cron	a, b;

	parse_ok("0 0 * JAN,jul SuN", &a);
	parse_ok("0 0 * 1,7 0", &b);
	assert_memory_equal(&a, &b, sizeof(a));
	parse_ok("0 9 * * Mon-FRI", &a);
	parse_ok("0 9 * * 1-5", &b);
	assert_memory_equal(&a, &b, sizeof(a));
	parse_ok("0 0 * may-aug *", &a);
	assert_int_equal(a.months, 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8);
	/* 0 and 7 are both Sunday, also at the end of a range. */
	parse_ok("0 0 * * 7", &a);
	parse_ok("0 0 * * 0", &b);
	assert_memory_equal(&a, &b, sizeof(a));
	parse_ok("0 0 * * 5-7", &a);
	assert_int_equal(a.wdays, 1 << 5 | 1 << 6 | 1 << 0);
	/* 2026-11-20 is a Friday. */
	next_is("0 9 * * mon-fri", NULL, "2026-11-20T09:00:00Z", "2026-11-23T09:00:00Z");
	next_is("0 0 * * 7", NULL, "2026-11-20T09:00:00Z", "2026-11-22T00:00:00Z");
}

static void
test_or_rule(void **state)
{
	/* Both restricted: the 13th OR any Friday (2026-01-02 is a Friday). */
	static const char *or[] = {
		"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
		"2026-01-16T00:00:00Z", NULL
	};
	/* Day-of-month starts with "*": both must match (odd days that are Fridays). */
	static const char *and[] = {
		"2026-01-09T00:00:00Z", "2026-01-23T00:00:00Z", "2026-02-13T00:00:00Z",
		NULL
	};

	sequence_is("0 0 13 * fri", NULL, "2026-01-01T00:00:00Z", or);
	sequence_is("0 0 */2 * fri", NULL, "2026-01-01T00:00:00Z", and);
	/* Only day-of-week restricted. */
	next_is("0 0 * * fri", NULL, "2026-01-03T00:00:00Z", "2026-01-09T00:00:00Z");
}

static void
test_calendar_edges(void **state)
{
	static const char *month_ends[] = {
		"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
		"2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", NULL
	};

	next_is("0 0 29 2 *", NULL, "2027-01-01T00:00:00Z", "2028-02-29T00:00:00Z");
	next_is("0 0 29 2 *", NULL, "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z");
	/* 2100 is not a leap year. */
	next_is("0 0 29 2 *", NULL, "2097-01-01T00:00:00Z", "2104-02-29T00:00:00Z");
	sequence_is("0 0 31 * *", NULL, "2026-01-31T00:00:00Z", month_ends);
	next_is("59 23 31 12 *", NULL, "2026-06-01T00:00:00Z", "2026-12-31T23:59:00Z");
}

static void
test_dst_berlin(void **state)
{
	const char	*tz = "Europe/Berlin";
	/* Fall back 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z). */
	static const char *wild_fall[] = {
		"2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z",
		"2026-10-25T02:00:00Z", NULL
	};

	/* Spring forward 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z). */
	next_is("30 2 * * *", tz, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z");
	next_is("30 2 * * *", tz, "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z");
	next_is("30 2 * * *", tz, "2026-03-27T12:00:00Z", "2026-03-28T01:30:00Z");
	/* 02:15 and 02:45 are both skipped: one run, at 03:00 CEST. */
	next_is("15,45 2 * * *", tz, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z");
	next_is("15,45 2 * * *", tz, "2026-03-29T01:00:00Z", "2026-03-30T00:15:00Z");
	/* Hour "*" follows the clock: skipped times do not run. */
	next_is("30 * * * *", tz, "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z");
	next_is("0 * * * *", tz, "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z");
	/* Midnight still at local midnight after the change. */
	next_is("0 0 * * *", tz, "2026-03-29T12:00:00Z", "2026-03-29T22:00:00Z");
	next_is("0 0 * * *", tz, "2026-03-28T12:00:00Z", "2026-03-28T23:00:00Z");

	/* Repeated 02:30: first occurrence (CEST) only. */
	next_is("30 2 * * *", tz, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
	next_is("30 2 * * *", tz, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
	/* Hour "*": both occurrences. */
	sequence_is("*/30 * * * *", tz, "2026-10-25T00:00:00Z", wild_fall);
}

static void
test_dst_new_york(void **state)
{
	const char	*tz = "America/New_York";

	/* Spring forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z). */
	next_is("30 2 * * *", tz, "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z");
	next_is("30 2 * * *", tz, "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z");
	next_is("0 3 * * *", tz, "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z");
	/* Fall back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z). */
	next_is("30 1 * * *", tz, "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z");
	next_is("30 1 * * *", tz, "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z");
	next_is("0 * * * *", tz, "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z");
	next_is("0 * * * *", tz, "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z");
	next_is("0 0 * * *", tz, "2026-11-01T12:00:00Z", "2026-11-02T05:00:00Z");
}

static void
test_every_and_macros(void **state)
{
	struct cron	a, b;
	time_t		t;

	next_is("@every 30m", NULL, "2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z");
	next_is("@every 30m", NULL, "2026-01-01T00:30:00Z", "2026-01-01T01:00:00Z");
	next_is("@every 1h30m", "Europe/Berlin", "2026-01-01T00:10:00Z",
	    "2026-01-01T01:30:00Z");
	parse_ok("@every 7h", &a);
	assert_int_equal(a.every, 7 * 3600);
	assert_int_equal(cron_next(&a, NULL, 1000000, &t), 0);
	assert_int_equal(t, (1000000 / 25200 + 1) * 25200);

	parse_ok("@daily", &a);
	parse_ok("0 0 * * *", &b);
	assert_memory_equal(&a, &b, sizeof(a));
	parse_ok("@MIDNIGHT", &a);
	assert_memory_equal(&a, &b, sizeof(a));
	next_is("@hourly", NULL, "2026-01-01T00:10:00Z", "2026-01-01T01:00:00Z");
	next_is("@weekly", NULL, "2026-11-20T09:00:00Z", "2026-11-22T00:00:00Z");
	next_is("@monthly", NULL, "2026-11-20T09:00:00Z", "2026-12-01T00:00:00Z");
	next_is("@yearly", NULL, "2026-11-20T09:00:00Z", "2027-01-01T00:00:00Z");
	next_is("@annually", "Europe/Berlin", "2026-11-20T09:00:00Z",
	    "2026-12-31T23:00:00Z");
}

static void
test_invalid(void **state)
{
	static const struct tu_refused	bad[] = {
		{ "61 * * * *", "minute field: 61 is out of range 0-59" },
		{ "* 24 * * *", "hour field: 24 is out of range 0-23" },
		{ "* * 0 * *", "day-of-month field: 0 is out of range 1-31" },
		{ "* * 32 * *", "day-of-month field: 32 is out of range 1-31" },
		{ "* * * 13 *", "month field: 13 is out of range 1-12" },
		{ "* * * * 8", "day-of-week field: 8 is out of range 0-7" },
		{ "* * * foo *", "month field: unknown name \"foo\"" },
		{ "* * * * sunday", "day-of-week field: unknown name \"sunday\"" },
		{ "mon * * * *", "minute field: unexpected \"m\"" },
		{ "10-5 * * * *", "minute field: range 10-5 is backwards" },
		{ "*/0 * * * *", "minute field: step 0 is out of range 1-59" },
		{ "*/ * * * *", "minute field: a step needs a number" },
		{ "1,,2 * * * *", "minute field: empty item in list" },
		{ "1, * * * *", "minute field: empty item in list" },
		{ "1-2-3 * * * *", "minute field: unexpected \"-\"" },
		{ "* * * *", "expected 5 fields" },
		{ "* * * * * *", "got more than 5" },
		{ "", "empty schedule" },
		{ "@often", "unknown schedule \"@often\"" },
		{ "@reboot", "unknown schedule" },
		{ "@every", "@every needs a duration" },
		{ "@every 10x", "@every: bad duration \"10x\"" },
		{ "@every 0s", "@every: bad duration" },
		{ "0 0 30 2 *", "day-of-month field: no day given exists" },
		{ "0 0 31 4,6 *", "day-of-month field: no day given exists" },
		{ "99999999999999999999 * * * *", "minute field: 999999999999 is out of range" },
		{ "1-99 * * * *", "minute field: 99 is out of range 0-59" },
	};
	struct cron	c;
	char		err[KB_ERRLEN];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		tu_expect_refused(&bad[i], cron_parse(bad[i].text, &c, err, sizeof(err)), err);
	}
	/* The OR rule makes Feb 30 harmless: Mondays match. */
	parse_ok("0 0 30 2 mon", &c);
}

static void
test_oncalendar(void **state)
{
	static const struct {
		const char	*expr;
		const char	*want;
		int		 ret;
	} cases[] = {
		{ "0 3 * * *", "*-*-* 03:00:00", 0 },
		{ "30 9 * * mon-fri", "Mon..Fri *-*-* 09:30:00", 0 },
		{ "0 0,12 * * *", "*-*-* 00,12:00:00", 0 },
		{ "*/15 * * * *", "*-*-* *:00/15:00", 0 },
		{ "5 */2 * * *", "*-*-* 00/2:05:00", 0 },
		{ "0 0 1 * *", "*-*-01 00:00:00", 0 },
		{ "0 0 1 1 *", "*-01-01 00:00:00", 0 },
		{ "0 0 * * 0", "Sun *-*-* 00:00:00", 0 },
		{ "0 0 * * sat,sun", "Sat,Sun *-*-* 00:00:00", 0 },
		{ "0 1-5 * * *", "*-*-* 01..05:00:00", 0 },
		{ "0 0 */2 * fri", "Fri *-*-01/2 00:00:00", 0 },
		{ "0 0 13 * fri", "Fri *-*-* 00:00:00\n*-*-13 00:00:00", 1 },
	};
	struct cron	c;
	char		buf[512];
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].expr, &c);
		assert_int_equal(cron_oncalendar(&c, buf, sizeof(buf)), cases[i].ret);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].expr, buf,
			    cases[i].want);
	}
	parse_ok("@every 1h", &c);
	assert_int_equal(cron_oncalendar(&c, buf, sizeof(buf)), -1);
	parse_ok("0 3 * * *", &c);
	assert_int_equal(cron_oncalendar(&c, buf, 5), -1);
}

static void
test_interval_hint(void **state)
{
	struct cron	c;

	parse_ok("0 3 * * *", &c);
	assert_int_equal(cron_interval_hint(&c), 86400);
	parse_ok("*/15 * * * *", &c);
	assert_int_equal(cron_interval_hint(&c), 900);
	parse_ok("0 9 * * mon-fri", &c);
	assert_int_equal(cron_interval_hint(&c), 3 * 86400);
	parse_ok("0 0 1 * *", &c);
	assert_int_equal(cron_interval_hint(&c), 31 * 86400);
	parse_ok("@every 2h", &c);
	assert_int_equal(cron_interval_hint(&c), 7200);
}

static void
test_tz(void **state)
{
	struct tm	tm;
	time_t		t;
	long		off;

	assert_true(tz_valid(NULL));
	assert_true(tz_valid("UTC"));
	assert_true(tz_valid("Europe/Berlin"));
	assert_false(tz_valid("Nowhere/Atall"));
	assert_false(tz_valid("../../etc/passwd"));
	assert_false(tz_valid("/etc/passwd"));
	assert_false(tz_valid("Europe/../../etc/passwd"));
	assert_false(tz_valid("Europe"));	/* a directory */
	assert_int_equal(tz_localtime("Nowhere/Atall", 0, &tm), -1);

	assert_int_equal(tz_utcoff("Europe/Berlin", tu_utc("2026-07-01T00:00:00Z"), &off), 0);
	assert_int_equal(off, 7200);
	assert_int_equal(tz_utcoff("Europe/Berlin", tu_utc("2026-01-01T00:00:00Z"), &off), 0);
	assert_int_equal(off, 3600);
	/* TZ of the process is left alone. */
	assert_null(getenv("TZ"));

	/* Gap: 02:30 on 2026-03-29 -> 03:00 CEST. */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 126; tm.tm_mon = 2; tm.tm_mday = 29; tm.tm_hour = 2; tm.tm_min = 30;
	assert_int_equal(tz_mktime("Europe/Berlin", &tm, &t), 0);
	assert_int_equal(t, tu_utc("2026-03-29T01:00:00Z"));
	assert_int_equal(tm.tm_hour, 3);
	assert_int_equal(tm.tm_min, 0);
	/* Repeated: 02:30 on 2026-10-25 -> first occurrence (CEST). */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 126; tm.tm_mon = 9; tm.tm_mday = 25; tm.tm_hour = 2; tm.tm_min = 30;
	assert_int_equal(tz_mktime("Europe/Berlin", &tm, &t), 0);
	assert_int_equal(t, tu_utc("2026-10-25T00:30:00Z"));
}

static void
test_time_parse(void **state)
{
	static const struct {
		const char	*s;
		const char	*tz;
		const char	*want;
	} ok[] = {
		{ "2026-11-20T12:00Z", NULL, "2026-11-20T12:00:00Z" },
		{ "2026-11-20T12:00:00Z", NULL, "2026-11-20T12:00:00Z" },
		{ "2026-11-20t12:00:00.123456z", NULL, "2026-11-20T12:00:00Z" },
		{ "2026-11-20 12:00:00+01:00", NULL, "2026-11-20T11:00:00Z" },
		{ "2026-11-20T12:00:00-0530", NULL, "2026-11-20T17:30:00Z" },
		{ "2026-11-20T12:00:00+01:00", "America/New_York", "2026-11-20T11:00:00Z" },
		{ "2026-11-20T12:00", NULL, "2026-11-20T12:00:00Z" },
		{ "2026-11-20T12:00", "Europe/Berlin", "2026-11-20T11:00:00Z" },
		{ "2026-07-20 12:00:30", "Europe/Berlin", "2026-07-20T10:00:30Z" },
		{ "2026-11-20", "Europe/Berlin", "2026-11-19T23:00:00Z" },
		{ "2026-11-20", NULL, "2026-11-20T00:00:00Z" },
		{ "2028-02-29", NULL, "2028-02-29T00:00:00Z" },
		{ "2026-12-31T23:59:60Z", NULL, "2026-12-31T23:59:59Z" },
		{ "20261120T120000Z", "Europe/Berlin", "2026-11-20T12:00:00Z" },
		{ "2026-10-25T02:30", "Europe/Berlin", "2026-10-25T00:30:00Z" },
		{ "2026-03-29T02:30", "Europe/Berlin", "2026-03-29T01:00:00Z" },
	};
	static const struct tu_refused	bad[] = {
		{ "yesterday", "expected a time such as 2026-11-20" },
		{ "2026-11-20T", "expected a time" },
		{ "2026-11-20T12", "expected a time" },
		{ "2026-11-20T12:00+1", "expected a time" },
		{ "2026-11-20T12:00:00Zjunk", "expected a time" },
		{ "2026-11-20T12:00:00.Z", "expected a time" },
		{ "2026-13-01", "no such date" },
		{ "2027-02-29", "no such date" },
		{ "2026-11-20T24:00", "out of range" },
		{ "2026-11-20T12:60", "out of range" },
		{ "", "expected a time" },
	};
	char	err[KB_ERRLEN], got[21];
	time_t	t;
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (time_parse(ok[i].s, ok[i].tz, &t, err, sizeof(err)) == -1)
			fail_msg("\"%s\": %s", ok[i].s, err);
		time_to_rfc3339(t, got);
		if (strcmp(got, ok[i].want) != 0)
			fail_msg("\"%s\" in %s: got %s, want %s", ok[i].s,
			    ok[i].tz ? ok[i].tz : "UTC", got, ok[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		tu_expect_refused(&bad[i], time_parse(bad[i].text, "Europe/Berlin", &t, err,
		    sizeof(err)), err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_forms),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_or_rule),
		cmocka_unit_test(test_calendar_edges),
		cmocka_unit_test(test_dst_berlin),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_every_and_macros),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_oncalendar),
		cmocka_unit_test(test_interval_hint),
		cmocka_unit_test(test_tz),
		cmocka_unit_test(test_time_parse),
	};

	unsetenv("TZ");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
