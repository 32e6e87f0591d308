/*
 * test_autolevel: zstd:auto's controller on made-up pipes and clocks (the
 * time is the test's, never the wall clock): down while the dump waits, up
 * while the workers idle, back when a step up slowed the dump, within bounds.
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
	autolevel_init(&a, now);
	assert_int_equal(a.level, AUTOLEVEL_START);
	assert_int_equal(window(&a, CAP, &now, 1000), AUTOLEVEL_START - 1);
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
	autolevel_init(&a, now);
	assert_int_equal(window(&a, 0, &now, 1000), AUTOLEVEL_START + 1);
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
	autolevel_init(&a, now);
	assert_int_equal(window(&a, CAP / 2, &now, 1000), AUTOLEVEL_START);
}

/* A step up after which the dump ran slower is taken back, and not tried again at once. */
static void
test_step_up_that_slowed_the_dump(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;

	(void)state;
	autolevel_init(&a, now);
	assert_int_equal(window(&a, 0, &now, 1000), AUTOLEVEL_START + 1);
	assert_int_equal(window(&a, 0, &now, 1500), AUTOLEVEL_START);
	assert_int_equal(window(&a, 0, &now, 1500), AUTOLEVEL_START);
	assert_int_equal(window(&a, 0, &now, 1500), AUTOLEVEL_START);
}

static void
test_levels_used(void **state)
{
	struct autolevel	a;
	int64_t			now = 0;
	char			buf[256];
	int			min, max;

	(void)state;
	autolevel_init(&a, now);
	autolevel_range(&a, &min, &max);
	assert_int_equal(min, AUTOLEVEL_START);
	assert_int_equal(max, AUTOLEVEL_START);
	window(&a, CAP, &now, 1000);
	window(&a, CAP, &now, 1000);
	autolevel_range(&a, &min, &max);
	assert_int_equal(min, AUTOLEVEL_START - 1);
	assert_int_equal(max, AUTOLEVEL_START);
	autolevel_describe(&a, buf, sizeof(buf));
	assert_string_equal(buf, "2: 32.0 MiB, 3: 32.0 MiB");
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
