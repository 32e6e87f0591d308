/*
 * test_hooks: word splitting, environment of a hook, order of a job's hooks,
 * a failing hook, a missing program.
 */
#include <sys/stat.h>

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
#include "runner/service/hooks.h"

static char	dir[] = "/tmp/test_hooks.XXXXXX";
static char	*script, *failing, *record;

static void
write_script(const char *path, const char *text)
{
	char	err[KB_ERRLEN];

	assert_int_equal(write_file_atomic(path, text, strlen(text), 0755, err,
	    sizeof(err)), 0);
}

static int
setup(void **state)
{
	char	*text;

	if (mkdtemp(dir) == NULL)
		return -1;
	script = path_join(dir, "hook.sh");
	failing = path_join(dir, "fail.sh");
	record = path_join(dir, "record");
	text = xasprintf("#!/bin/sh\n"
	    "echo \"$KBACKUP_HOOK|$1|$2|$KBACKUP_JOB|$KBACKUP_NAME|$KBACKUP_NAMESPACE|"
	    "$KBACKUP_ENGINE|$KBACKUP_BACKUP_ID|$KBACKUP_RESULT|$KBACKUP_ERROR|"
	    "$KBACKUP_RAW_BYTES|$KBACKUP_STORED_BYTES\" >> %s\n"
	    "echo hook output on stdout\n"
	    "echo hook output on stderr >&2\n", record);
	write_script(script, text);
	free(text);
	write_script(failing, "#!/bin/sh\necho frozen app refuses >&2\nexit 3\n");
	return 0;
}

static int
teardown(void **state)
{
	unlink(script);
	unlink(failing);
	unlink(record);
	rmdir(dir);
	free(script);
	free(failing);
	free(record);
	return 0;
}

static void
test_split(void **state)
{
	char	**w;
	size_t	  n;

	w = words_split("  /bin/echo\ta  'b c'  ", &n);
	assert_int_equal(n, 4);
	assert_string_equal(w[0], "/bin/echo");
	assert_string_equal(w[1], "a");
	assert_string_equal(w[2], "'b");
	assert_string_equal(w[3], "c'");
	assert_null(w[4]);
	words_free(w);
	w = words_split("   ", &n);
	assert_int_equal(n, 0);
	assert_null(w[0]);
	words_free(w);
}

static void
test_order_and_env(void **state)
{
	struct hook_job	 j;
	char		 err[KB_ERRLEN], *cmd, *buf;
	size_t		 len;

	memset(&j, 0, sizeof(j));
	j.job = "backup";
	j.name = "orders";
	j.namespace = "shop";
	j.engine = "postgres";
	j.backup_id = "20261124T030000Z";
	cmd = xasprintf("%s one two", script);
	assert_int_equal(hooks_run("before", cmd, &j, err, sizeof(err)), 0);
	j.result = "failure";
	j.error = "pg_dump exited with status 1";
	j.raw_bytes = 1000;
	j.stored_bytes = 300;
	assert_int_equal(hooks_run("after", cmd, &j, err, sizeof(err)), 0);
	assert_int_equal(hooks_run("on_failure", cmd, &j, err, sizeof(err)), 0);
	assert_int_equal(hooks_run("after", NULL, &j, err, sizeof(err)), 0);
	assert_int_equal(hooks_run("after", "", &j, err, sizeof(err)), 0);
	free(cmd);

	assert_int_equal(read_file(record, 1 << 16, &buf, &len, err, sizeof(err)), 0);
	assert_string_equal(buf,
	    "before|one|two|backup|orders|shop|postgres|20261124T030000Z|||0|0\n"
	    "after|one|two|backup|orders|shop|postgres|20261124T030000Z|failure|"
	    "pg_dump exited with status 1|1000|300\n"
	    "on_failure|one|two|backup|orders|shop|postgres|20261124T030000Z|failure|"
	    "pg_dump exited with status 1|1000|300\n");
	free(buf);
}

static void
test_failure(void **state)
{
	struct hook_job	j;
	char		err[KB_ERRLEN];

	memset(&j, 0, sizeof(j));
	j.job = "restore";
	assert_int_equal(hooks_run("before", failing, &j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "before hook"));
	assert_non_null(strstr(err, "status 3"));
	assert_int_equal(hooks_run("before", "/nonexistent/hook", &j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "before hook"));
}

/* A hook that outlives [hooks] timeout is killed and fails the hook. */
static void
test_timeout(void **state)
{
	struct hook_job	j;
	char		err[KB_ERRLEN];

	memset(&j, 0, sizeof(j));
	j.job = "backup";
	j.timeout = 1;
	assert_int_equal(hooks_run("before", "/bin/sleep 30", &j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "did not finish within 1 s: killed"));
	j.timeout = 5;
	assert_int_equal(hooks_run("before", "/bin/true", &j, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_order_and_env),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
