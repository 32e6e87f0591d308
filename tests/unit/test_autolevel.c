/*
 * test_autolevel: zstd:auto's controller on made-up pipes and clocks (the
 * time is the test's, never the wall clock): down while the dump waits, up
 * while the workers idle, back when a step up slowed the dump, within bounds;
 * and the processors' idle time (the test's own samples) as the second signal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runner/stream/autolevel.h"

#define CAP	(1024 * 1024)
#define READ	(128 * 1024)

/* The share of idle processor time the fake samples show; < 0: the system does not tell. */
static double	fake_idle = -1;

static int
fake_sample(struct cpustat *s)
{
	static struct cpustat	now;

	if (fake_idle < 0)
		return -1;
	now.total += 1000;
	now.idle += (uint64_t)(fake_idle * 1000);
	*s = now;
	return 0;
}

/* A controller at level, on the fake samples showing idle. */
static void
start(struct autolevel *a, int level, double idle)
{
	autolevel_init(a, 0);
	a->sample = fake_sample;
	a->level = level;
	fake_idle = idle;
}

/* One window of reads, each finding avail bytes in the pipe, taking ms in all. */
static int
window(struct autolevel *a, size_t avail, int64_t *now, int64_t ms)
{
	size_t	n, reads = AUTOLEVEL_WINDOW / READ;
	int	level = a->level;

	for (n = 0; n < reads; n++) {
		*now += ms / (int64_t)reads;
		level = autolevel_read(a, avail, CAP, READ, *now);
	}
	return level;
}

static void
test_down_while_the_dump_waits(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;
	int			i;

	(void)state;
	start(&a, 3, -1);
	assert_int_equal(window(&a, CAP, &now, 1000), 2);
	for (i = 0; i < 10; i++)
		window(&a, CAP, &now, 1000);
	assert_int_equal(a.level, AUTOLEVEL_MIN);
}

static void
test_up_while_the_workers_idle(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;
	int			i;

	(void)state;
	start(&a, 3, -1);
	assert_int_equal(window(&a, 0, &now, 1000), 4);
	for (i = 0; i < 20; i++)
		window(&a, 0, &now, 1000);
	assert_int_equal(a.level, AUTOLEVEL_MAX);
}

static void
test_neither(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;

	(void)state;
	start(&a, 3, -1);
	assert_int_equal(window(&a, CAP / 2, &now, 1000), 3);
}

/* A step up after which the dump ran slower is taken back, and not tried again at once. */
static void
test_step_up_that_slowed_the_dump(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;

	(void)state;
	start(&a, 3, -1);
	assert_int_equal(window(&a, 0, &now, 1000), 4);
	assert_int_equal(window(&a, 0, &now, 1500), 3);
	assert_int_equal(window(&a, 0, &now, 1500), 3);
	assert_int_equal(window(&a, 0, &now, 1500), 3);
}

static void
test_levels_used(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;
	char			buf[256];
	int			min, max;

	(void)state;
	start(&a, 3, -1);
	autolevel_range(&a, &min, &max);
	assert_int_equal(min, AUTOLEVEL_START);
	assert_int_equal(max, AUTOLEVEL_START);
	window(&a, CAP, &now, 1000);
	window(&a, CAP, &now, 1000);
	autolevel_range(&a, &min, &max);
	assert_int_equal(min, 2);
	assert_int_equal(max, 3);
	autolevel_describe(&a, buf, sizeof(buf));
	assert_string_equal(buf, "2: 32.0 MiB, 3: 32.0 MiB");
}

/* From the lowest level: up only as the processors show they have time to spare. */
static void
test_starts_at_the_lowest(void **state)
{
	struct autolevel	a;

	(void)state;
	autolevel_init(&a, 0);
	assert_int_equal(a.level, AUTOLEVEL_MIN);
	assert_int_equal(AUTOLEVEL_START, AUTOLEVEL_MIN);
}

/* Processors with no time to spare: down, though the pipe says neither. */
static void
test_down_while_the_cpu_is_busy(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;

	(void)state;
	start(&a, 3, 0.05);
	assert_int_equal(window(&a, CAP / 2, &now, 1000), 2);
	assert_int_equal(window(&a, 0, &now, 1000), 1);
	assert_int_equal(window(&a, 0, &now, 1000), 1);
}

/* An empty pipe is not enough to go up: the processors must be idle enough too. */
static void
test_up_only_with_idle_cpu(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;

	(void)state;
	start(&a, 3, (AUTOLEVEL_IDLE_LOW + AUTOLEVEL_IDLE_HIGH) / 2);
	assert_int_equal(window(&a, 0, &now, 1000), 3);
	assert_true(a.idle > AUTOLEVEL_IDLE_LOW && a.idle < AUTOLEVEL_IDLE_HIGH);
	fake_idle = 0.5;
	assert_int_equal(window(&a, 0, &now, 1000), 4);
	/* a full pipe still goes down, however idle the processors */
	assert_int_equal(window(&a, CAP, &now, 1000), 3);
}

/* The idle share between two samples, and the system's own sample. */
static void
test_cpustat(void **state)
{
	struct cpustat	before = { 10, 100 }, after = { 60, 200 }, now;

	(void)state;
	assert_true(cpustat_idle(&before, &after) > 0.499 && cpustat_idle(&before, &after) < 0.501);
	assert_true(cpustat_idle(&before, &before) < 0);
	assert_true(cpustat_idle(&after, &before) < 0);
	assert_int_equal(cpustat_sample(&now), 0);	/* Linux: /proc/stat */
	assert_true(now.total > 0 && now.idle <= now.total);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_while_the_dump_waits),
		cmocka_unit_test(test_up_while_the_workers_idle),
		cmocka_unit_test(test_neither),
		cmocka_unit_test(test_step_up_that_slowed_the_dump),
		cmocka_unit_test(test_levels_used),
		cmocka_unit_test(test_starts_at_the_lowest),
		cmocka_unit_test(test_down_while_the_cpu_is_busy),
		cmocka_unit_test(test_up_only_with_idle_cpu),
		cmocka_unit_test(test_cpustat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
