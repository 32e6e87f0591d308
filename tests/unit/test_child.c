/*
 * test_child: child_run_input() feeds a child and reads it at once (a child
 * echoing 4 MiB, far more than a pipe holds, in both directions), keeps at
 * most outmax bytes of output, and reports a failing child's exit status.
 * A memfile reaches the child it is passed to, and only that one: mode 0600,
 * sealed, above stderr, its bytes read back through /proc/self/fd/N.
 * No child sees the cloud secrets or the variables of *_env secrets.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	assert_int_equal(child_run_input(argv, NULL, NULL, in, &out, BIG, err, sizeof(err)), 0);
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
	assert_int_equal(child_run_input(argv, NULL, NULL, in, &out, 1000, err, sizeof(err)), 0);
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
	assert_int_equal(child_run_input(argv, NULL, NULL, in, &out, 100, err, sizeof(err)), -1);
	assert_null(out);
	assert_string_equal(err, "sh exited with status 3");
	free(in);
}

static const char secret[] = "*:*:*:*:pa\\:ss\n";

static void
test_memfile_passed(void **state)
{
	struct memfile	 mf;
	const char	*argv[] = { "cat", NULL, NULL };
	char		 err[KB_ERRLEN], *out = NULL;
	struct stat	 st;

	(void)state;
	assert_int_equal(memfile_open(&mf, "test", secret, strlen(secret), err,
	    sizeof(err)), 0);
	assert_true(mf.fd > STDERR_FILENO);
	assert_int_equal(fstat(mf.fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(write(mf.fd, "x", 1), -1);	/* sealed */
	argv[1] = mf.path;
	assert_int_equal(child_run_input(argv, NULL, &mf, NULL, &out, 1024, err,
	    sizeof(err)), 0);
	assert_string_equal(out, secret);
	free(out);
	out = NULL;
	/* Not passed: close-on-exec, the child cannot open it. */
	assert_int_equal(child_run_input(argv, NULL, NULL, NULL, &out, 1024, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cat exited with status 1");
	memfile_close(&mf);
	memfile_close(&mf);
	assert_string_equal(mf.path, "");
}

/* Started with stdin closed, the memfile must not land on descriptor 0. */
static void
test_memfile_above_stderr(void **state)
{
	struct memfile	mf;
	char		err[KB_ERRLEN];
	int		saved;

	(void)state;
	saved = dup(STDIN_FILENO);
	close(STDIN_FILENO);
	assert_int_equal(memfile_open(&mf, "test", "x", 1, err, sizeof(err)), 0);
	dup2(saved, STDIN_FILENO);
	close(saved);
	assert_true(mf.fd > STDERR_FILENO);
	memfile_close(&mf);
}

static void
test_secrets_withheld(void **state)
{
	static const char *const deny[] = { "KB_TEST_DB_PASSWORD", NULL };
	const char *const	 argv[] = { "env", NULL };
	char			*out = NULL, err[256];

	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIK7MDENG", 1);
	setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEBY", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc", 1);
	setenv("KB_TEST_DB_PASSWORD", "hunter2", 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	child_set_env_denylist(deny);
	assert_int_equal(child_run(argv, NULL, &out, 65536, err, sizeof(err)), 0);
	assert_null(strstr(out, "wJalrXUtnFEMIK7MDENG"));
	assert_null(strstr(out, "FwoGZXIvYXdzEBY"));
	assert_null(strstr(out, "Basic abc"));
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "AWS_REGION=eu-west-1"));	/* not a secret */
	child_set_env_denylist(NULL);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_both_ways),
		cmocka_unit_test(test_output_capped),
		cmocka_unit_test(test_child_stops_reading),
		cmocka_unit_test(test_memfile_passed),
		cmocka_unit_test(test_memfile_above_stderr),
		cmocka_unit_test(test_secrets_withheld),
	};

	signal(SIGPIPE, SIG_IGN);	/* as the runner does */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
