/*
 * test_child: child_run_input() feeds a child and reads it at once (a child
 * echoing 4 MiB, far more than a pipe holds, in both directions), keeps at
 * most outmax bytes of output, and reports a failing child's exit status.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "common/proc.h"

#define BIG	(4 * 1024 * 1024)

static char *
big_input(void)
{
	char	*in = xmalloc(BIG + 1);
	size_t	 i;

	for (i = 0; i < BIG; i++)
		in[i] = (char)('a' + i % 26);
	in[BIG] = '\0';
	return in;
}

static void
test_echo_both_ways(void **state)
{
	const char	*argv[] = { "cat", NULL };
	char		 err[KB_ERRLEN], *in = big_input(), *out = NULL;

	(void)state;
	assert_int_equal(child_run_input(argv, NULL, in, &out, BIG, err, sizeof(err)), 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), BIG);
	assert_memory_equal(out, in, BIG);
	free(out);
	free(in);
}

static void
test_output_capped(void **state)
{
	const char	*argv[] = { "cat", NULL };
	char		 err[KB_ERRLEN], *in = big_input(), *out = NULL;

	(void)state;
	assert_int_equal(child_run_input(argv, NULL, in, &out, 1000, err, sizeof(err)), 0);
	assert_int_equal(strlen(out), 1000);
	assert_memory_equal(out, in, 1000);
	free(out);
	free(in);
}

static void
test_child_stops_reading(void **state)
{
	const char	*argv[] = { "sh", "-c", "head -c 10 >/dev/null; exit 3", NULL };
	char		 err[KB_ERRLEN], *in = big_input(), *out = NULL;

	(void)state;
	assert_int_equal(child_run_input(argv, NULL, in, &out, 100, err, sizeof(err)), -1);
	assert_null(out);
	assert_string_equal(err, "sh exited with status 3");
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_both_ways),
		cmocka_unit_test(test_output_capped),
		cmocka_unit_test(test_child_stops_reading),
	};

	signal(SIGPIPE, SIG_IGN);	/* as the runner does */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
