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

/* One window: what the pipe held at each read, how long it took, the idle share, the level after. */
struct step {
	size_t	avail;
	int64_t	ms;
	double	idle;		/* < 0: the system does not tell */
	int	level;
};

struct scenario {
	const char	*name;
	int		 start;
	struct step	 steps[6];
	size_t		 nsteps;
};

static const struct scenario scenarios[] = {
	{ "down while the dump waits (a full pipe), to the lowest", 3,
	    { { CAP, 1000, -1, 2 }, { CAP, 1000, -1, 1 }, { CAP, 1000, -1, 1 } }, 3 },
	{ "up while the workers idle (an empty pipe), to the highest", 3,
	    { { 0, 1000, -1, 4 }, { 0, 1000, -1, 5 }, { 0, 1000, -1, 6 }, { 0, 1000, -1, 6 } }, 4 },
	{ "neither: a pipe half full", 3, { { CAP / 2, 1000, -1, 3 } }, 1 },
	{ "a step up after which the dump ran slower: back, and not again at once", 3,
	    { { 0, 1000, -1, 4 }, { 0, 1500, -1, 3 }, { 0, 1500, -1, 3 }, { 0, 1500, -1, 3 } }, 4 },
	{ "processors with no time to spare: down, though the pipe says neither", 3,
	    { { CAP / 2, 1000, 0.05, 2 }, { 0, 1000, 0.05, 1 }, { 0, 1000, 0.05, 1 } }, 3 },
	{ "an empty pipe and too little idle time: not up; enough: up; a full pipe: down", 3,
	    { { 0, 1000, (AUTOLEVEL_IDLE_LOW + AUTOLEVEL_IDLE_HIGH) / 2, 3 },
	      { 0, 1000, 0.5, 4 }, { CAP, 1000, 0.5, 3 } }, 3 },
};

static void
test_scenarios(void **state)
{
	const struct scenario	*sc;
	const struct step	*st;
	struct autolevel	 a;
	int64_t			 now;
	size_t			 i, j;

	(void)state;
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		sc = &scenarios[i];
		print_message("%s\n", sc->name);
		start(&a, sc->start, sc->steps[0].idle);
		now = 0;
		for (j = 0; j < sc->nsteps; j++) {
			st = &sc->steps[j];
			fake_idle = st->idle;
			assert_int_equal(window(&a, st->avail, &now, st->ms), st->level);
			if (st->idle < 0)
				assert_true(a.idle < 0);
			else
				assert_true(a.idle > st->idle - 0.001 && a.idle < st->idle + 0.001);
		}
	}
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
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_levels_used),
		cmocka_unit_test(test_starts_at_the_lowest),
		cmocka_unit_test(test_cpustat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
