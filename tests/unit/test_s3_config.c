/*
 * test_s3_config: the [storage] keys of type s3: validation, defaults,
 * describe, and the secret wiped on close.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/util.h"
#include "storage/storage.h"

extern const struct storage_ops storage_s3;

static struct config *
base(void)
{
	struct config	*cfg = config_new(NULL);

	config_set(cfg, "storage", "type", "s3");
	config_set(cfg, "storage", "bucket", "db-backups");
	config_set_secret(cfg, "storage", "access_key", "AKIAEXAMPLE");
	config_set_secret(cfg, "storage", "secret_key", "s3cr3t-value");
	return cfg;
}

static void
expect_invalid(struct config *cfg, const char *want)
{
	char	err[KB_ERRLEN];

	assert_int_equal(storage_s3.validate(NULL, config_section(cfg, "storage"), err,
	    sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' does not mention '%s'", err, want);
	assert_null(strstr(err, "s3cr3t"));
	config_free(cfg);
}

static void
test_valid(void **state)
{
	struct config	*cfg = base();
	char		 err[KB_ERRLEN];

	assert_int_equal(storage_s3.validate(NULL, config_section(cfg, "storage"), err,
	    sizeof(err)), 0);
	config_free(cfg);
}

static void
test_invalid(void **state)
{
	struct config	*cfg;

	cfg = config_new(NULL);
	config_set(cfg, "storage", "type", "s3");
	config_set_secret(cfg, "storage", "secret_key", "s3cr3t-value");
	expect_invalid(cfg, "bucket");

	cfg = base();
	config_set(cfg, "storage", "part_size", "4MiB");
	expect_invalid(cfg, "part_size");

	cfg = base();
	config_set(cfg, "storage", "parts_in_flight", "65");
	expect_invalid(cfg, "parts_in_flight");

	cfg = base();
	config_set(cfg, "storage", "path_style", "maybe");
	expect_invalid(cfg, "path_style");

	cfg = config_new(NULL);
	config_set(cfg, "storage", "bucket", "b");
	config_set_secret(cfg, "storage", "access_key", "AKIAEXAMPLE");
	expect_invalid(cfg, "secret_key");
}

static void
test_open_describe(void **state)
{
	struct config	*cfg = base();
	struct storage	*st;
	char		 err[KB_ERRLEN], buf[256];

	config_set(cfg, "storage", "prefix", "/prod/");
	assert_int_equal(storage_open(config_section(cfg, "storage"), &st, err,
	    sizeof(err)), 0);
	assert_string_equal(st->ops->type, "s3");
	st->ops->describe(st, buf, sizeof(buf));
	assert_string_equal(buf, "s3://db-backups/prod");
	storage_close(st);
	config_free(cfg);
}

static void
test_bad_endpoint(void **state)
{
	struct config	*cfg = base();
	struct storage	*st;
	char		 err[KB_ERRLEN];

	config_set(cfg, "storage", "endpoint", "ftp://example.com");
	assert_int_equal(storage_open(config_section(cfg, "storage"), &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "endpoint"));
	config_free(cfg);

	cfg = base();
	config_set(cfg, "storage", "endpoint", "https://example.com/some/path");
	assert_int_equal(storage_open(config_section(cfg, "storage"), &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "path"));
	config_free(cfg);
}

static void
test_keys_table(void **state)
{
	const struct config_key	*k;
	int			 n = 0, secrets = 0;

	for (k = storage_s3.keys; k->name != NULL; k++) {
		n++;
		if (k->type == CFG_SECRET)
			secrets++;
		/* merged into one [storage] schema with other types */
		assert_int_equal(k->required, 0);
	}
	assert_int_equal(n, 12);
	assert_int_equal(secrets, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_open_describe),
		cmocka_unit_test(test_bad_endpoint),
		cmocka_unit_test(test_keys_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
