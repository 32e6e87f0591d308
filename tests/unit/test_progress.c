/*
 * test_progress: log lines when due (and not before), the bar, the totals.
 * Intervals are 0 or an hour: no test depends on the wall clock.
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

#include "common/log.h"
#include "common/util.h"
#include "runner/stream/progress.h"

static char	captured[8192];
static int	nlines;

static void
capture(const char *line, void *arg)
{
	strlcat(captured, line, sizeof(captured));
	strlcat(captured, "\n", sizeof(captured));
	nlines++;
}

static void
reset(void)
{
	captured[0] = '\0';
	nlines = 0;
	log_set_hook(capture, NULL);
}

static void
test_log_lines(void **state)
{
	struct progress	p;

	reset();
	progress_start(&p, PROGRESS_BACKUP, 0);
	progress_set_output(&p, 0, 2, 3600 * 1000);
	progress_add_read(&p, 3 * 1024 * 1024);
	progress_add_stored(&p, 1024 * 1024);
	progress_tick(&p);
	assert_int_equal(nlines, 0);		/* not due */
	progress_set_output(&p, 0, 2, 0);
	progress_tick(&p);
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(captured, "msg=progress job=backup read=\"3.0 MiB\" "
	    "stored=\"1.0 MiB\" rate="));
	assert_non_null(strstr(captured, "read_bytes=3145728"));
	progress_finish(&p, 1);
	assert_int_equal(nlines, 2);
	assert_non_null(strstr(captured, "msg=\"progress: done\" job=backup"));
	log_set_hook(NULL, NULL);
}

static void
test_bar(void **state)
{
	struct progress	p;
	int		fds[2];
	char		buf[1024];
	ssize_t		n;

	reset();
	assert_int_equal(pipe(fds), 0);
	progress_start(&p, PROGRESS_RESTORE, 200);
	progress_set_output(&p, 1, fds[1], 0);
	progress_add_read(&p, 100);
	progress_tick(&p);
	assert_int_equal(nlines, 0);		/* the bar replaces log lines */
	progress_finish(&p, 0);
	close(fds[1]);
	n = read_full(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\rrestore [###############...............]  50% "
	    "100 B / 200 B"));
	assert_int_equal(buf[n - 1], '\n');
	assert_non_null(strstr(captured, "msg=\"progress: stopped\" job=restore"));
	close(fds[0]);
	log_set_hook(NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_bar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
