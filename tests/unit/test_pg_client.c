/*
 * test_pg_client: which PostgreSQL client a server gets.  The choice (its
 * own major, else the newest newer one, else none) over sets of installed
 * majors; the installed majors read from a directory tree as Debian lays it
 * out (only NUMBER/bin/pg_dump counts); the server's version as psql prints
 * it.
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
#include "engines/pg_client.h"
#include "tests/unit/testutil.h"

static void
test_choose(void **state)
{
	static const int	 some[] = { 13, 15, 16 };
	static const int	 one[] = { 17 };
	static const int	 old[] = { 12, 13, 14 };

	(void)state;
	assert_int_equal(pg_client_choose(some, 3, 15), 15);	/* its own */
	assert_int_equal(pg_client_choose(some, 3, 13), 13);
	assert_int_equal(pg_client_choose(some, 3, 14), 16);	/* the newest newer */
	assert_int_equal(pg_client_choose(some, 3, 12), 16);
	assert_int_equal(pg_client_choose(some, 3, 9), 16);
	assert_int_equal(pg_client_choose(some, 3, 16), 16);
	assert_int_equal(pg_client_choose(some, 3, 17), -1);	/* all older */
	assert_int_equal(pg_client_choose(some, 3, 18), -1);
	assert_int_equal(pg_client_choose(one, 1, 17), 17);
	assert_int_equal(pg_client_choose(one, 1, 15), 17);
	assert_int_equal(pg_client_choose(one, 1, 18), -1);
	assert_int_equal(pg_client_choose(old, 3, 15), -1);
	assert_int_equal(pg_client_choose(NULL, 0, 15), -1);
}

static void
touch_tool(const char *root, const char *major, int executable)
{
	char	*p;
	FILE	*f;

	p = xasprintf("%s/%s/bin", root, major);
	assert_int_equal(mkdir_p(p, 0755, NULL, 0), 0);
	free(p);
	p = xasprintf("%s/%s/bin/pg_dump", root, major);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
	chmod(p, executable ? 0755 : 0644);
	free(p);
}

static void
test_majors(void **state)
{
	char	 root[] = "/tmp/test_pg_client.XXXXXX", *p, text[64];
	int	*v;
	size_t	 n;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_null(pg_client_majors(root, &n));
	assert_int_equal(n, 0);
	touch_tool(root, "16", 1);
	touch_tool(root, "9", 1);
	touch_tool(root, "13", 1);
	touch_tool(root, "14", 0);	/* not executable */
	touch_tool(root, "9.6", 1);	/* not a major we can use */
	touch_tool(root, "15beta", 1);
	p = xasprintf("%s/17/bin", root);	/* no pg_dump */
	assert_int_equal(mkdir_p(p, 0755, NULL, 0), 0);
	free(p);
	v = pg_client_majors(root, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0], 9);
	assert_int_equal(v[1], 13);
	assert_int_equal(v[2], 16);
	pg_client_majors_text(v, n, text, sizeof(text));
	assert_string_equal(text, "9, 13, 16");
	free(v);
	pg_client_majors_text(NULL, 0, text, sizeof(text));
	assert_string_equal(text, "none");
	assert_null(pg_client_majors("/nonexistent/pg", &n));
	assert_int_equal(tu_rmtree(root), 0);
}

static void
test_root(void **state)
{
	(void)state;
	unsetenv(PG_CLIENT_ROOT_ENV);
	assert_string_equal(pg_client_root(), "/usr/lib/postgresql");
	setenv(PG_CLIENT_ROOT_ENV, "", 1);
	assert_string_equal(pg_client_root(), "/usr/lib/postgresql");
	setenv(PG_CLIENT_ROOT_ENV, "/opt/pg", 1);
	assert_string_equal(pg_client_root(), "/opt/pg");
	unsetenv(PG_CLIENT_ROOT_ENV);
}

static void
test_server_version(void **state)
{
	char	v[32];
	int	major;

	(void)state;
	assert_int_equal(pg_client_server_version("150018\t15.18 (Debian 15.18-0+deb12u1)\n",
	    &major, v, sizeof(v)), 0);
	assert_int_equal(major, 15);
	assert_string_equal(v, "15.18");
	assert_int_equal(pg_client_server_version("180000\t18beta1\n", &major, v, sizeof(v)), 0);
	assert_int_equal(major, 18);
	assert_string_equal(v, "18beta1");
	assert_int_equal(pg_client_server_version("90624\t9.6.24\n", &major, v, sizeof(v)), 0);
	assert_int_equal(major, 9);
	assert_int_equal(pg_client_server_version("", &major, v, sizeof(v)), -1);
	assert_int_equal(pg_client_server_version("15.18\n", &major, v, sizeof(v)), -1);
	assert_int_equal(pg_client_server_version("abc\t15\n", &major, v, sizeof(v)), -1);
	assert_int_equal(pg_client_server_version("150018\t\n", &major, v, sizeof(v)), -1);
	assert_int_equal(pg_client_server_version("150018\t15.18\n", &major, v, 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_majors),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_server_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
