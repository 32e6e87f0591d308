/*
 * test_config: the kbackup.conf reader, its type parsers, and the writer
 * (what the operator renders must read back exactly).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/util.h"
#include "runner/schema.h"

static char *
write_temp(const char *text)
{
	char	*path = xstrdup("/tmp/kbtest-config-XXXXXX");
	int	 fd = mkstemp(path);

	assert_true(fd != -1);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
	return path;
}

static const char minimal[] =
    "[backup]\nname = orders\nengine = postgres\n"
    "[postgres]\ndatabase = shop\npassword = s3cr;et\n"
    "[storage]\ntype = file\npath = /var/backups/kbackup\n";

static void
test_parsers(void **state)
{
	uint64_t	sz;
	int64_t		d;
	int		b;

	assert_int_equal(config_parse_size("16MiB", &sz), 0);
	assert_int_equal(sz, 16 * 1024 * 1024);
	assert_int_equal(config_parse_size("512", &sz), 0);
	assert_int_equal(sz, 512);
	assert_int_equal(config_parse_size("1g", &sz), 0);
	assert_int_equal(sz, 1024ULL * 1024 * 1024);
	assert_int_equal(config_parse_size("MiB", &sz), -1);
	assert_int_equal(config_parse_size("-1", &sz), -1);
	assert_int_equal(config_parse_size("99999999999999999999", &sz), -1);
	assert_int_equal(config_parse_duration("1h30m", &d), 0);
	assert_int_equal(d, 5400);
	assert_int_equal(config_parse_duration("2w", &d), 0);
	assert_int_equal(d, 14 * 86400);
	assert_int_equal(config_parse_duration("0s", &d), -1);
	assert_int_equal(config_parse_duration("7 days", &d), -1);
	assert_int_equal(config_parse_duration("", &d), -1);
	assert_int_equal(config_parse_duration("5", &d), -1);
	assert_int_equal(config_parse_bool("Yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(config_parse_bool("off", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(config_parse_bool("maybe", &b), -1);
	assert_true(config_is_name("orders-2"));
	assert_false(config_is_name("-orders"));
	assert_false(config_is_name("Orders"));
	assert_false(config_is_name(""));
}

static void
test_load_defaults(void **state)
{
	struct config			*cfg;
	const struct config_section	*s;
	char				 err[KB_ERRLEN];
	char				*path = write_temp(minimal);

	assert_int_equal(runner_config_load(path, &cfg, err, sizeof(err)), 0);
	s = config_section(cfg, "backup");
	assert_string_equal(config_get(s, "namespace"), "default");
	assert_string_equal(config_get(s, "mode"), "retained");
	assert_null(config_section(cfg, "retention"));
	/* The quoted ';' stays in the value only when quoted: here it starts a comment. */
	assert_string_equal(config_get(config_section(cfg, "postgres"), "password"), "s3cr");
	assert_int_equal(config_get_uint(config_section(cfg, "postgres"), "port"), 5432);
	config_free(cfg);
	unlink(path);
	free(path);
}

static void
test_error_names_key(void **state)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN];
	char		*path;

	path = write_temp("[backup]\nname = orders\nengine = postgres\nschedul = x\n"
	    "[postgres]\ndatabase = d\n[storage]\ntype = file\npath = /x\n");
	assert_int_equal(runner_config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[backup] schedul: unknown key"));
	assert_non_null(strstr(err, path));
	unlink(path);
	free(path);
}

static void
test_writer_round_trip(void **state)
{
	static const char *values[] = {
		"plain", "with ; semicolon", "with # hash", " leading space",
		"trailing space ", "say \"hi\" ; now", "it's ; fine", "", "ü€ UTF-8",
		"a=b=c", NULL
	};
	struct config	*out, *in;
	char		*text, *path, err[KB_ERRLEN], key[16];
	size_t		 i;

	out = config_new("rendered");
	config_set(out, "backup", "name", "orders");
	config_set(out, "backup", "engine", "postgres");
	config_set(out, "postgres", "database", "shop");
	config_set_secret(out, "postgres", "password", "p@ss;word \"x\"");
	config_set(out, "storage.local", "type", "file");
	config_set(out, "storage.local", "path", "/var/backups");
	for (i = 0; values[i] != NULL; i++) {
		snprintf(key, sizeof(key), "rule.r%zu", i);
		config_set(out, "retention", key, "%Y-%m 1d");
	}
	text = config_write_string(out);
	assert_non_null(text);
	path = write_temp(text);
	assert_int_equal(runner_config_load(path, &in, err, sizeof(err)), 0);
	assert_string_equal(config_get(config_section(in, "postgres"), "password"),
	    "p@ss;word \"x\"");
	assert_string_equal(config_get(config_section(in, "storage.local"), "path"),
	    "/var/backups");
	config_free(in);
	unlink(path);
	free(path);
	free(text);

	/* Every awkward value survives write and read (as a value of dump_options). */
	for (i = 0; values[i] != NULL; i++) {
		config_set(out, "postgres", "dump_options", values[i]);
		text = config_write_string(out);
		assert_non_null(text);
		path = write_temp(text);
		assert_int_equal(config_load(path, runner_schema(), &in, err, sizeof(err)), 0);
		assert_string_equal(config_get(config_section(in, "postgres"), "dump_options"),
		    values[i]);
		config_free(in);
		unlink(path);
		free(path);
		free(text);
	}
	/* A value iniparser cannot hold is refused, not mangled. */
	config_set(out, "postgres", "dump_options", "both \" and ' ; here");
	assert_null(config_write_string(out));
	config_set(out, "postgres", "dump_options", "new\nline");
	assert_null(config_write_string(out));
	config_free(out);
}

static void
test_secret_file_and_env(void **state)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN], *dir, *conf, *text;

	dir = xstrdup("/tmp/kbtest-creds-XXXXXX");
	assert_non_null(mkdtemp(dir));
	text = path_join(dir, "pg");
	assert_int_equal(write_file_atomic(text, "from-file\n", 10, 0600, err, sizeof(err)), 0);
	free(text);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	conf = write_temp("[backup]\nname = o\nengine = postgres\n[postgres]\ndatabase = d\n"
	    "password_file = pg\n[storage]\ntype = file\npath = /x\n");
	assert_int_equal(runner_config_load(conf, &cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(config_section(cfg, "postgres"), "password"), "from-file");
	config_free(cfg);
	unlink(conf);
	free(conf);
	/*
	 * The whole file less its trailing line breaks, as kbackup.conf(5)
	 * says: a key file of two lines (openssl rand -base64 64) is one key,
	 * which backups already made with it depend on.
	 */
	text = path_join(dir, "pg");
	assert_int_equal(write_file_atomic(text, "line one\nline two \r\n\n", 21, 0600, err,
	    sizeof(err)), 0);
	free(text);
	conf = write_temp("[backup]\nname = o\nengine = postgres\n[postgres]\ndatabase = d\n"
	    "password_file = pg\n[storage]\ntype = file\npath = /x\n");
	assert_int_equal(runner_config_load(conf, &cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(config_section(cfg, "postgres"), "password"),
	    "line one\nline two ");
	config_free(cfg);
	unlink(conf);
	free(conf);
	unsetenv("CREDENTIALS_DIRECTORY");

	setenv("KB_UNIT_SECRET", "from-env", 1);
	conf = write_temp("[backup]\nname = o\nengine = postgres\n[postgres]\ndatabase = d\n"
	    "password_env = KB_UNIT_SECRET\n[storage]\ntype = file\npath = /x\n"
	    "encryption_key_old.spring_env = KB_UNIT_SECRET\n");
	assert_int_equal(runner_config_load(conf, &cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(config_section(cfg, "postgres"), "password"), "from-env");
	/* A pattern key's _env form is the secret, not a key named "..._env". */
	assert_string_equal(config_get(config_section(cfg, "storage"),
	    "encryption_key_old.spring"), "from-env");
	assert_null(config_get(config_section(cfg, "storage"), "encryption_key_old.spring_env"));
	assert_string_equal(config_secret_env_names(cfg)[0], "KB_UNIT_SECRET");
	config_free(cfg);
	unlink(conf);
	free(conf);
	text = path_join(dir, "pg");
	unlink(text);
	free(text);
	rmdir(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_load_defaults),
		cmocka_unit_test(test_error_names_key),
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_secret_file_and_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
