/*
 * test_pg_globals: what of pg_dumpall --globals-only output reaches the
 * server.  "missing" leaves every statement about an existing role out (its
 * password above all) and keeps the rest; "replace" keeps them but CREATE
 * ROLE; the role the restore connects as is left alone either way.  Quotes,
 * E'' strings, quoted identifiers and comments holding ';' do not split a
 * statement, meta-command lines pass, and how the input is cut into reads
 * changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "engines/pg_globals.h"
#include "tests/unit/testutil.h"

/* As pg_dumpall 15 writes it, with the awkward cases a real one may hold. */
static const char dump[] =
    "--\n-- PostgreSQL database cluster dump\n--\n\n"
    "\\restrict AbC123\n\n"
    "SET default_transaction_read_only = off;\n"
    "SET client_encoding = 'UTF8';\n"
    "SET standard_conforming_strings = on;\n\n"
    "--\n-- Roles\n--\n\n"
    "CREATE ROLE alice;\n"
    "ALTER ROLE alice WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:aa==$bb:cc';\n"
    "COMMENT ON ROLE alice IS 'multi\nline; ''quoted'' -- not a comment';\n"
    "CREATE ROLE \"bob ü;x\";\n"
    "ALTER ROLE \"bob ü;x\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:dd==$ee:ff';\n"
    "CREATE ROLE postgres;\n"
    "ALTER ROLE postgres WITH SUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:pp==$qq:rr';\n"
    "CREATE ROLE readers;\n"
    "ALTER ROLE readers WITH NOLOGIN;\n"
    "SECURITY LABEL FOR dummy ON ROLE alice IS E'it\\'s; fine';\n\n"
    "--\n-- User Config \"alice\" -- it's\n--\n\n"
    "ALTER ROLE alice SET work_mem TO '8MB';\n"
    "ALTER ROLE \"bob ü;x\" SET search_path TO 'public', 'extra';\n\n"
    "--\n-- Role memberships\n--\n\n"
    "GRANT readers TO alice GRANTED BY postgres;\n"
    "GRANT readers TO \"bob ü;x\" WITH INHERIT TRUE GRANTED BY postgres;\n\n"
    "--\n-- Tablespaces\n--\n\n"
    "CREATE TABLESPACE fast OWNER alice LOCATION '/srv/fast';\n"
    "GRANT CREATE ON TABLESPACE fast TO readers;\n"
    "CREATE TABLESPACE slow OWNER postgres LOCATION '/srv/slow';\n"
    "COMMENT ON TABLESPACE slow IS 'spinning';\n\n"
    "\\unrestrict AbC123\n\n"
    "--\n-- PostgreSQL database cluster dump complete\n--\n\n";

/* The kept text, the input fed in pieces of step bytes (0: at once). */
static char *
run(const char *in, size_t step, int replace, char **roles, char **spaces)
{
	struct tbuf		 s = { 0 };
	struct pg_globals	*g;
	char			 err[KB_ERRLEN];
	size_t			 len = strlen(in), i, n;

	g = pg_globals_new(roles, spaces, "postgres", replace, tbuf_text_out, &s);
	for (i = 0; i < len; i += n) {
		n = step == 0 || len - i < step ? len - i : step;
		if (pg_globals_feed(g, in + i, n, err, sizeof(err)) == -1)
			fail_msg("feed: %s", err);
	}
	if (pg_globals_finish(g, err, sizeof(err)) == -1)
		fail_msg("finish: %s", err);
	pg_globals_free(g);
	return s.data != NULL ? s.data : xstrdup("");
}

/* The dump through the filter: kept holds what must reach the server, dropped what must not. */
static void
expect_filtered(int replace, char **roles, char **spaces, const char *const *kept,
    const char *const *dropped)
{
	char	*out = run(dump, 0, replace, roles, spaces);

	tu_expect_text(out, kept, dropped);
	free(out);
}

static char	*server_roles[] = { "postgres", "alice", "pg_monitor", NULL };
static char	*server_spaces[] = { "pg_default", "pg_global", "slow", NULL };

static void
test_missing(void **state)
{
	static const char *const kept[] = {
		/* What the server lacks, whole, quotes and all. */
		"CREATE ROLE \"bob ü;x\";\n",
		"ALTER ROLE \"bob ü;x\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:dd==$ee:ff';",
		"ALTER ROLE \"bob ü;x\" SET search_path TO 'public', 'extra';",
		"CREATE ROLE readers;\nALTER ROLE readers WITH NOLOGIN;",
		"GRANT readers TO \"bob ü;x\" WITH INHERIT TRUE GRANTED BY postgres;",
		"CREATE TABLESPACE fast OWNER alice",
		"GRANT CREATE ON TABLESPACE fast TO readers;",
		/* psql's own lines and the settings pass. */
		"\\restrict AbC123\n",
		"\\unrestrict AbC123\n",
		"SET standard_conforming_strings = on;",
		NULL
	};
	static const char *const dropped[] = {
		/* alice exists: nothing about her, her password least of all. */
		"alice;",
		"aa==$bb",
		"COMMENT ON ROLE alice",
		"SECURITY LABEL",
		"work_mem",
		"GRANT readers TO alice",
		/* The one we connect as: left alone. */
		"pp==$qq",
		/* The tablespace the server has. */
		"CREATE TABLESPACE slow",
		"spinning",
		NULL
	};

	expect_filtered(0, server_roles, server_spaces, kept, dropped);
}

static void
test_replace(void **state)
{
	static const char *const kept[] = {
		"ALTER ROLE alice WITH NOSUPERUSER INHERIT LOGIN PASSWORD "
		    "'SCRAM-SHA-256$4096:aa==$bb:cc';",
		"COMMENT ON ROLE alice IS 'multi\nline; ''quoted'' -- not a comment';",
		"SECURITY LABEL FOR dummy ON ROLE alice IS E'it\\'s; fine';",
		"GRANT readers TO alice GRANTED BY postgres;",
		"COMMENT ON TABLESPACE slow IS 'spinning';",
		NULL
	};
	static const char *const dropped[] = {
		"CREATE ROLE alice;",
		"pp==$qq",
		"CREATE ROLE postgres",
		"CREATE TABLESPACE slow",
		NULL
	};

	expect_filtered(1, server_roles, server_spaces, kept, dropped);
}

/* An empty server (but for us): everything but our own role. */
static void
test_empty_server(void **state)
{
	static const char *const kept[] = {
		"CREATE ROLE alice;\nALTER ROLE alice WITH",
		"GRANT readers TO alice GRANTED BY postgres;",
		"CREATE TABLESPACE slow",
		NULL
	};
	static const char *const dropped[] = { "ALTER ROLE postgres", NULL };
	char	*roles[] = { "postgres", NULL }, *spaces[] = { NULL };

	expect_filtered(0, roles, spaces, kept, dropped);
}

static void
test_chunking(void **state)
{
	char	*whole, *piece;
	size_t	 step;
	int	 replace;

	for (replace = 0; replace < 2; replace++) {
		whole = run(dump, 0, replace, server_roles, server_spaces);
		for (step = 1; step < 40; step += 3) {
			piece = run(dump, step, replace, server_roles, server_spaces);
			assert_string_equal(piece, whole);
			free(piece);
		}
		free(whole);
	}
}

static void
test_unfinished(void **state)
{
	struct tbuf		 s = { 0 };
	struct pg_globals	*g;
	char			 err[KB_ERRLEN];
	static const char	 cut[] = "CREATE ROLE x;\nALTER ROLE x PASSWORD 'abc";

	g = pg_globals_new(NULL, NULL, NULL, 0, tbuf_text_out, &s);
	assert_int_equal(pg_globals_feed(g, cut, strlen(cut), err, sizeof(err)), 0);
	assert_int_equal(pg_globals_finish(g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inside a statement"));
	assert_string_equal(s.data, "CREATE ROLE x;");
	pg_globals_free(g);
	free(s.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_empty_server),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_unfinished),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
