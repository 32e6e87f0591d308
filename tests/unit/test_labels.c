/*
 * test_labels: retention labels over a simulated year, DST, custom rules,
 * the newest-backup guarantee, and the one parser of retention rules.
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

#include "common/config.h"
#include "common/util.h"
#include "runner/catalog/backup_id.h"
#include "runner/catalog/labels.h"
#include "tests/unit/testutil.h"

#define HOUR	3600
#define DAY	86400

/* One backup at t (id from t), then prune at t as the runner does. */
static void
backup_and_prune(struct labels_index *idx, const struct label_rules *rules, const char *tz,
    time_t t)
{
	struct labels_prune_plan	plan;
	char				id[BACKUP_ID_MAX], err[KB_ERRLEN];
	size_t				i;

	time_to_id(t, id);
	if (labels_assign(idx, rules, tz, id, t, err, sizeof(err)) == -1)
		fail_msg("labels_assign %s: %s", id, err);
	labels_plan_prune(idx, t, &plan);
	for (i = 0; i < plan.n; i++)
		assert_int_equal(labels_index_remove(idx, plan.v[i].id), 0);
	labels_plan_free(&plan);
}

static const struct label *
find_label(const struct labels_backup *b, const char *prefix)
{
	size_t	i;

	for (i = 0; i < b->nlabels; i++)
		if (startswith(b->labels[i].name, prefix))
			return &b->labels[i];
	return NULL;
}

static void
test_year_hourly(void **state)
{
	struct label_rules	rules;
	struct labels_index	idx;
	time_t			start = tu_utc("2026-01-01T00:00:00Z"), now, t;
	long long		day, week, lastday = -1, lastweek = -1;
	int			lastmonth = -1, nexp = 0, i, keep;
	struct tm		tm;
	char			id[17];
	static char		expect[400][17];

	rules_defaults(&rules);
	labels_index_init(&idx);
	for (i = 0; i < 365 * 24; i++)
		backup_and_prune(&idx, &rules, NULL, start + (time_t)i * HOUR);
	now = start + (365 * 24 - 1) * (time_t)HOUR;

	/*
	 * Expected, from calendar arithmetic alone: the newest (all, 1h), the
	 * last 24 hours, the first backup of each day for 7 days, of each ISO
	 * week (weeks start on Monday; 1970-01-05 was one) for 31 days, of each
	 * month for 365 days.  A label expires when now >= t + keep.
	 */
	for (t = start; t <= now; t += HOUR) {
		gmtime_r(&t, &tm);
		day = t / DAY;
		week = (day - 4) / 7;
		keep = t + HOUR > now || t + 24 * HOUR > now;
		if (day != lastday && t + 7 * DAY > now)
			keep = 1;
		if (week != lastweek && t + 31 * DAY > now)
			keep = 1;
		if (tm.tm_mon != lastmonth && t + 365 * DAY > now)
			keep = 1;
		lastday = day;
		lastweek = week;
		lastmonth = tm.tm_mon;
		if (keep) {
			assert_true(nexp < 400);
			time_to_id(t, expect[nexp++]);
		}
	}
	/* 24 hours, Dec 25-30 midnights, Mondays Dec 7-28, Jan-Dec firsts. */
	assert_int_equal(nexp, 24 + 6 + 4 + 12 - 1);	/* Dec 28 is a Monday and a daily */
	assert_int_equal(idx.n, (size_t)nexp);
	for (i = 0; i < nexp; i++) {
		if (strcmp(idx.v[i].id, expect[i]) != 0)
			fail_msg("kept[%d] = %s, want %s", i, idx.v[i].id, expect[i]);
	}
	/* The newest holds all: hourly: daily: is the first of Dec 31. */
	time_to_id(now, id);
	assert_string_equal(idx.v[idx.n - 1].id, id);
	assert_non_null(find_label(&idx.v[idx.n - 1], "all:20261231T230000Z"));
	assert_non_null(find_label(&idx.v[idx.n - 1], "hourly:2026-12-31T23"));
	assert_null(find_label(&idx.v[idx.n - 1], "daily:"));
	labels_index_free(&idx);
	rules_free(&rules);
}

static void
test_dst_berlin(void **state)
{
	struct label_rules	 rules;
	struct labels_index	 idx;
	const struct labels_backup *b;
	time_t			 t;
	char			 id[17], err[KB_ERRLEN];
	int			 hourly = 0, daily = 0;
	size_t			 i;

	rules_defaults(&rules);
	labels_index_init(&idx);
	/* Fall back: 2026-10-25 03:00 CEST -> 02:00 CET at 01:00Z.  No pruning. */
	for (t = tu_utc("2026-10-24T18:00:00Z"); t <= tu_utc("2026-10-26T02:00:00Z"); t += HOUR) {
		time_to_id(t, id);
		assert_int_equal(labels_assign(&idx, &rules, "Europe/Berlin", id, t, err,
		    sizeof(err)), 0);
	}
	assert_int_equal(idx.n, 33);
	b = labels_index_find(&idx, "20261025T000000Z");	/* 02:00 CEST */
	assert_non_null(b);
	assert_non_null(find_label(b, "hourly:2026-10-25T02"));
	b = labels_index_find(&idx, "20261025T010000Z");	/* 02:00 CET again */
	assert_non_null(b);
	assert_null(find_label(b, "hourly:"));
	assert_non_null(find_label(b, "all:20261025T010000Z"));
	/* Daily labels at local midnight: 22:00Z (CEST) and 23:00Z (CET). */
	b = labels_index_find(&idx, "20261024T220000Z");
	assert_non_null(find_label(b, "daily:2026-10-25"));
	assert_int_equal(find_label(b, "daily:")->expires, tu_utc("2026-10-31T22:00:00Z"));
	b = labels_index_find(&idx, "20261025T230000Z");
	assert_non_null(find_label(b, "daily:2026-10-26"));
	for (i = 0; i < idx.n; i++) {
		hourly += find_label(&idx.v[i], "hourly:") != NULL;
		daily += find_label(&idx.v[i], "daily:") != NULL;
	}
	assert_int_equal(hourly, 32);
	assert_int_equal(daily, 3);	/* the first (18:00Z, the 24th), 25th, 26th */
	labels_index_free(&idx);

	/* Spring forward: 2026-03-29 02:00 CET -> 03:00 CEST at 01:00Z. */
	labels_index_init(&idx);
	for (t = tu_utc("2026-03-28T23:00:00Z"); t <= tu_utc("2026-03-29T02:00:00Z"); t += HOUR)
		backup_and_prune(&idx, &rules, "Europe/Berlin", t);
	time_to_id(tu_utc("2026-03-29T01:00:00Z"), id);
	assert_non_null(find_label(labels_index_find(&idx, id), "hourly:2026-03-29T03"));
	time_to_id(tu_utc("2026-03-29T00:00:00Z"), id);
	assert_non_null(find_label(labels_index_find(&idx, id), "hourly:2026-03-29T01"));
	labels_index_free(&idx);
	rules_free(&rules);
}

static void
test_custom_rule(void **state)
{
	struct label_rules		rules;
	struct labels_index		idx;
	struct config			*cfg;
	char				err[KB_ERRLEN];
	time_t				start = tu_utc("2026-01-01T12:00:00Z");
	int				i;

	/* From explicit arrays: one backup a day, kept by a quarterly-ish rule. */
	rules_init(&rules);
	assert_int_equal(rules_set(&rules, "all", NULL, HOUR, err, sizeof(err)), 0);
	assert_int_equal(rules_set(&rules, "quarterly-ish", "%Y-%m", 90 * DAY, err,
	    sizeof(err)), 0);
	labels_index_init(&idx);
	for (i = 0; i < 200; i++)
		backup_and_prune(&idx, &rules, NULL, start + (time_t)i * DAY);
	/*
	 * Now 2026-07-19 12:00: kept are the firsts of months less than 90 days
	 * old (April 1 expired on June 30), plus the newest.
	 */
	assert_int_equal(idx.n, 4);
	assert_string_equal(idx.v[0].id, "20260501T120000Z");
	assert_string_equal(idx.v[1].id, "20260601T120000Z");
	assert_string_equal(idx.v[2].id, "20260701T120000Z");
	assert_string_equal(idx.v[3].id, "20260719T120000Z");
	assert_non_null(find_label(&idx.v[0], "quarterly-ish:2026-05"));
	assert_int_equal(find_label(&idx.v[0], "quarterly-ish:")->expires,
	    tu_utc("2026-07-30T12:00:00Z"));
	labels_index_free(&idx);
	rules_free(&rules);

	/* From a [retention] section. */
	cfg = config_new(NULL);
	config_set(cfg, "retention", "daily", "off");
	config_set(cfg, "retention", "yearly", "3650d");
	config_set(cfg, "retention", "rule.quarter", "%Y-%m 90d");
	assert_int_equal(rules_from_config(config_section(cfg, "retention"), &rules,
	    err, sizeof(err)), 0);
	assert_int_equal(rules.n, 7);
	assert_int_equal(rules.v[2].keep, -1);		/* daily */
	assert_int_equal(rules.v[5].keep, 3650LL * DAY);	/* yearly */
	assert_int_equal(rules.v[1].keep, 24 * HOUR);	/* hourly: default */
	assert_string_equal(rules.v[6].name, "quarter");
	assert_string_equal(rules.v[6].format, "%Y-%m");
	rules_free(&rules);
	config_set(cfg, "retention", "rule.daily", "%Y 1d");
	assert_int_equal(rules_from_config(config_section(cfg, "retention"), &rules,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "daily is a preset"));
	config_free(cfg);

	assert_int_equal(rules_check_value("%Y-%m 90d", err, sizeof(err)), 0);
	assert_int_equal(rules_check_value("%G-W%V  off", err, sizeof(err)), 0);
	assert_int_equal(rules_check_value("%Y %m 1w", err, sizeof(err)), 0);
	assert_int_equal(rules_check_value("%Y-%m", err, sizeof(err)), -1);
	assert_int_equal(rules_check_value("%Y-%m 90x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a duration"));
	assert_int_equal(rules_check_value("static 1d", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no % conversion"));
	assert_int_equal(rules_check_value("%Y-%n 1d", err, sizeof(err)), -1);
	assert_int_equal(rules_check_value("%Y-%Z 1d", err, sizeof(err)), -1);
	assert_int_equal(rules_set(&rules, "Bad_Name", "%Y", DAY, err, sizeof(err)),
	    -1);
	rules_free(&rules);
}

static void
test_newest_kept(void **state)
{
	struct label_rules		rules;
	struct labels_index		idx;
	struct labels_prune_plan	plan;
	char				err[KB_ERRLEN];
	time_t				t = tu_utc("2026-11-24T03:00:00Z");

	rules_defaults(&rules);
	labels_index_init(&idx);
	assert_int_equal(labels_assign(&idx, &rules, NULL, "20261124T030000Z", t, err,
	    sizeof(err)), 0);
	labels_plan_prune(&idx, t + 3650 * DAY, &plan);
	assert_int_equal(plan.n, 0);
	assert_string_equal(plan.kept_newest, "20261124T030000Z");
	labels_plan_free(&plan);

	/*
	 * An older backup goes once expired; a newer one without labels (as a
	 * view can hold) is the newest and stays.  Damaged backups are never
	 * in the view: the catalog keeps them out (test_catalog).
	 */
	assert_non_null(labels_index_add(&idx, "20261125T030000Z-3fa94c", t + DAY, err,
	    sizeof(err)));
	assert_int_equal(labels_assign(&idx, &rules, NULL, "20261123T030000Z", t - DAY, err,
	    sizeof(err)), 0);
	labels_plan_prune(&idx, t + 3650 * DAY, &plan);
	assert_int_equal(plan.n, 2);
	assert_string_equal(plan.v[0].id, "20261123T030000Z");
	assert_non_null(strstr(plan.v[0].reason,
	    "daily:2026-11-23 (expired 2026-11-30T03:00:00Z)"));
	assert_string_equal(plan.v[1].id, "20261124T030000Z");
	assert_string_equal(plan.kept_newest, "20261125T030000Z-3fa94c");
	labels_plan_free(&plan);
	/* Before anything expired: nothing to do. */
	labels_plan_prune(&idx, t, &plan);
	assert_int_equal(plan.n, 0);
	assert_string_equal(plan.kept_newest, "20261125T030000Z-3fa94c");
	labels_plan_free(&plan);

	assert_null(labels_index_add(&idx, "20261125T030000Z-3fa94c", t, err, sizeof(err)));
	assert_null(labels_index_add(&idx, "../etc", t, err, sizeof(err)));
	assert_null(labels_index_add(&idx, "20261125T030000Z-3FA94C", t, err, sizeof(err)));
	labels_index_free(&idx);
	rules_free(&rules);
}

/*
 * The one parser of "FORMAT DURATION", on every input either old parser
 * took (common/config.c's check_rule split at the last space and wanted a
 * '%'; labels.c's split at the last blank and checked the conversions).
 */
/*
 * A clock near year 9999: labels expire at the last time a manifest holds,
 * not in a year 10000 that no reader takes back; a clock outside
 * 1970-9999 starts no backup.
 */
static void
test_clock_at_the_end(void **state)
{
	struct label_rules	 rules;
	struct labels_index	 idx;
	char			 err[KB_ERRLEN], when[21];
	time_t			 t = tu_utc("9999-12-31T12:00:00Z"), back;
	size_t			 i;

	(void)state;
	rules_defaults(&rules);
	labels_index_init(&idx);
	assert_int_equal(labels_assign(&idx, &rules, NULL, "99991231T120000Z", t, err,
	    sizeof(err)), 0);
	assert_int_equal(idx.n, 1);
	for (i = 0; i < idx.v[0].nlabels; i++) {
		assert_true(idx.v[0].labels[i].expires > t);
		assert_true(idx.v[0].labels[i].expires <= TIME_STORED_MAX);
		time_to_rfc3339(idx.v[0].labels[i].expires, when);
		assert_int_equal(rfc3339_to_time(when, &back), 0);
		assert_true(back == idx.v[0].labels[i].expires);
	}
	assert_non_null(find_label(&idx.v[0], "monthly:"));
	assert_true(find_label(&idx.v[0], "monthly:")->expires == TIME_STORED_MAX);
	labels_index_free(&idx);
	rules_free(&rules);
	assert_int_equal(time_check_clock(t, err, sizeof(err)), 0);
	assert_int_equal(time_check_clock(0, err, sizeof(err)), 0);
	assert_int_equal(time_check_clock(-1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1970 to 9999"));
	assert_int_equal(time_check_clock(TIME_STORED_MAX + 1, err, sizeof(err)), -1);
}

static void
test_rule_parser(void **state)
{
	static const struct {
		const char	*value;
		const char	*format;	/* NULL: refused */
		int64_t		 keep;
	} cases[] = {
		{ "%Y-%m 90d", "%Y-%m", 90 * DAY },		/* both took it */
		{ "%G-W%V  off", "%G-W%V", -1 },		/* both */
		{ "%Y %m 1w", "%Y %m", 7 * DAY },		/* both: blanks in the format */
		{ "  %Y-%m 90d  ", "%Y-%m", 90 * DAY },	/* labels.c only: trimmed */
		{ "%Y-%m\t90d", "%Y-%m", 90 * DAY },		/* labels.c only: a tab */
		{ "%Y-%m \t 1h30m", "%Y-%m", 5400 },
		{ "%% 1d", NULL, 0 },				/* check_rule only: no conversion */
		{ "%Q 1d", NULL, 0 },				/* check_rule only: no such conversion */
		{ "100% 1d", NULL, 0 },			/* check_rule only */
		{ "%Y-%m 90x", NULL, 0 },			/* neither */
		{ "%Y-%m", NULL, 0 },
		{ "90d", NULL, 0 },
		{ "", NULL, 0 },
		{ "static 1d", NULL, 0 },
		{ "%Y-%m 0d", NULL, 0 },
	};
	char	*format, err[KB_ERRLEN];
	int64_t	 keep;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = rules_parse_value(cases[i].value, &format, &keep, err, sizeof(err));
		if (cases[i].format == NULL) {
			if (rc != -1)
				fail_msg("accepted \"%s\"", cases[i].value);
			assert_null(format);
			assert_int_equal(rules_check_value(cases[i].value, err, sizeof(err)),
			    -1);
			continue;
		}
		if (rc == -1)
			fail_msg("refused \"%s\": %s", cases[i].value, err);
		assert_string_equal(format, cases[i].format);
		assert_int_equal(keep, cases[i].keep);
		free(format);
	}
}

/* The schema's [retention] keys come from the presets: same names, same defaults. */
static void
test_schema_keys(void **state)
{
	const struct config_key	*k = rules_schema_keys();
	struct label_rules	 rules;
	int64_t			 keep;
	size_t			 i;

	rules_defaults(&rules);
	for (i = 0; i < rules.n; i++) {
		assert_string_equal(k[i].name, rules.v[i].name);
		if (strcmp(k[i].def, "off") == 0)
			keep = -1;
		else
			assert_int_equal(config_parse_duration(k[i].def, &keep), 0);
		assert_int_equal(keep, rules.v[i].keep);
	}
	assert_string_equal(k[rules.n].name, "rule.*");
	assert_null(k[rules.n + 1].name);
	rules_free(&rules);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_year_hourly),
		cmocka_unit_test(test_dst_berlin),
		cmocka_unit_test(test_custom_rule),
		cmocka_unit_test(test_newest_kept),
		cmocka_unit_test(test_clock_at_the_end),
		cmocka_unit_test(test_rule_parser),
		cmocka_unit_test(test_schema_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
