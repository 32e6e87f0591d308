/*
 * test_metrics: rendering of the runner's metrics, label escaping, health,
 * the atomic textfile, and promtool's verdict on the output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "runner/service/metrics.h"
#include "tests/unit/testutil.h"

/* Feeds text to "promtool check metrics"; 0 ok, 1 rejected, 77 no promtool. */
static int
promtool_check(const char *text)
{
	FILE	*p;
	int	 st;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return 77;
	if ((p = popen("promtool check metrics", "w")) == NULL)
		return 1;
	fputs(text, p);
	st = pclose(p);
	return st == 0 ? 0 : 1;
}

static void
test_render_fresh(void **state)
{
	static const char *const present[] = {
		"# TYPE kbackup_runner_start_timestamp_seconds gauge\n",
		"kbackup_runner_start_timestamp_seconds{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\"} 1700000000\n",
		"kbackup_last_success_timestamp_seconds{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\"} 0\n",
		NULL
	};
	static const char *const absent[] = {
		"kbackup_last_run_success",
		"kbackup_next_run_timestamp_seconds",
		NULL
	};
	struct metrics	 m;
	char		*t;

	metrics_init(&m, "orders", "shop", "postgres", 1700000000);
	t = metrics_render(&m);
	tu_expect_text(t, present, absent);
	if (promtool_check(t) != 77)
		assert_int_equal(promtool_check(t), 0);
	free(t);
	metrics_free(&m);
}

static void
test_render_full(void **state)
{
	static const char *const present[] = {
		"kbackup_last_success_timestamp_seconds{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\"} 1700003600\n",
		"kbackup_last_run_success{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\",job=\"backup\"} 1\n",
		"kbackup_last_run_success{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\",job=\"restore\"} 0\n",
		"job=\"backup\"} 12.5\n",
		"kind=\"raw\"} 123456789012\n",
		"kind=\"stored\"} 9876543210\n",
		"kbackup_stored_backups{",
		"} 42\n",
		"kbackup_damaged_backups{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\"} 2\n",
		"kbackup_future_backups{name=\"orders\",namespace=\"shop\","
		    "engine=\"postgres\"} 1\n",
		"kbackup_next_run_timestamp_seconds{",
		"kbackup_schedule_interval_seconds{",
		NULL
	};
	struct metrics	 m;
	char		*t, reason[300];

	metrics_init(&m, "orders", "shop", "postgres", 1700000000);
	assert_true(metrics_healthy(&m, reason, sizeof(reason)));
	metrics_job_done(&m, METRICS_JOB_BACKUP, 1, 12.5, 1700003600, NULL);
	metrics_job_done(&m, METRICS_JOB_RESTORE, 0, 3.25, 1700007200, "pg_restore failed");
	metrics_set_backup_bytes(&m, 123456789012ULL, 9876543210ULL);
	metrics_set_backup_counts(&m, 42, 2, 1);
	metrics_set_next_run(&m, 1700089200, 86400);
	t = metrics_render(&m);
	tu_expect_text(t, present, NULL);
	assert_int_equal(promtool_check(t) == 1, 0);
	free(t);

	assert_false(metrics_healthy(&m, reason, sizeof(reason)));
	assert_string_equal(reason, "last restore failed: pg_restore failed");
	metrics_job_done(&m, METRICS_JOB_BACKUP, 1, 1, 1700010000, NULL);
	assert_true(metrics_healthy(&m, reason, sizeof(reason)));
	metrics_free(&m);
}

static void
test_escaping(void **state)
{
	struct metrics	 m;
	char		*t;

	metrics_init(&m, "a\"b", "c\\d", "e\nf", 1);
	t = metrics_render(&m);
	assert_non_null(strstr(t, "{name=\"a\\\"b\",namespace=\"c\\\\d\",engine=\"e\\nf\"}"));
	assert_int_equal(promtool_check(t) == 1, 0);
	free(t);
	metrics_free(&m);
}

static void
test_textfile(void **state)
{
	struct metrics	 m;
	char		 dir[] = "/tmp/test_metrics.XXXXXX", err[KB_ERRLEN];
	char		*path, *buf, *t;
	size_t		 len;

	assert_non_null(mkdtemp(dir));
	path = path_join(dir, "kbackup-orders.prom");
	metrics_init(&m, "orders", "shop", "sqlite", 1700000000);
	metrics_job_done(&m, METRICS_JOB_BACKUP, 1, 2, 1700000002, NULL);
	assert_int_equal(metrics_write_textfile(&m, path, err, sizeof(err)), 0);
	assert_int_equal(read_file(path, 1 << 20, &buf, &len, err, sizeof(err)), 0);
	t = metrics_render(&m);
	assert_string_equal(buf, t);
	free(t);
	free(buf);
	unlink(path);
	free(path);
	path = path_join(dir, "missing/x.prom");
	assert_int_equal(metrics_write_textfile(&m, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "metrics textfile"));
	free(path);
	rmdir(dir);
	metrics_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_fresh),
		cmocka_unit_test(test_render_full),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_textfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
