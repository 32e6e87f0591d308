/*
 * test_s3_config: the [storage] keys of type s3 through the schema, as
 * check --offline reads them: every bad value fails at config time naming
 * its key; cross-key rules; defaults; describe.
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
#include "tests/unit/testutil.h"

extern const struct storage_ops storage_s3;

/* [storage] of type s3 in bucket (NULL: none), with no keys. */
static struct config *
keyless(const char *bucket)
{
	struct config	*cfg = config_new(NULL);

	config_set(cfg, "storage", "type", "s3");
	if (bucket != NULL)
		config_set(cfg, "storage", "bucket", bucket);
	return cfg;
}

static struct config *
base(void)
{
	struct config	*cfg = keyless("db-backups");

	config_set_secret(cfg, "storage", "access_key", "AKIAEXAMPLE");
	config_set_secret(cfg, "storage", "secret_key", "s3cr3t-value");
	return cfg;
}

static void
expect_invalid(struct config *cfg, const char *want)
{
	char	err[KB_ERRLEN];

	assert_int_equal(tu_storage_validate(cfg, err, sizeof(err)), -1);
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

	assert_int_equal(tu_storage_validate(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

/* A required key missing. */
static void
test_invalid(void **state)
{
	struct config	*cfg;

	cfg = keyless(NULL);
	config_set_secret(cfg, "storage", "secret_key", "s3cr3t-value");
	expect_invalid(cfg, "bucket");

	cfg = keyless("b");
	config_set_secret(cfg, "storage", "access_key", "AKIAEXAMPLE");
	expect_invalid(cfg, "secret_key");
}

/* Every key with a value syntax: a bad value fails, naming the key. */
static void
test_bad_values(void **state)
{
	static const char *const bad[][2] = {
		{ "endpoint", "https://example.com/some/path" },
		{ "endpoint", "ftp://example.com" },
		{ "region", "eu central" },
		{ "bucket", "a/b" },
		{ "path_style", "maybe" },
		{ "tls_verify", "2" },
		{ "credentials", "kerberos" },
		{ "role_arn", "role/x" },
		{ "role_session_name", "a b" },
		{ "role_session_duration", "13h" },
		{ "role_session_duration", "soon" },
		{ "sts_endpoint", "sts.amazonaws.com" },
		{ "part_size", "5GiB1" },
		{ "part_size", "6GiB" },
		{ "part_size", "4MiB" },
		{ "parts_in_flight", "0" },
		{ "parts_in_flight", "65" },
		{ "max_tries", "101" },
		{ "object_lock", "on" },
		{ "storage_class", "glacier ir" },
		{ "sse", "aes256" },
		{ "checksum", "md5" },
	};
	struct config	*cfg;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = base();
		config_set(cfg, "storage", bad[i][0], bad[i][1]);
		expect_invalid(cfg, bad[i][0]);
	}
}

/* Rules across keys. */
static void
test_cross_keys(void **state)
{
	static const struct {
		int		 keys;		/* base(), else keyless("b3b") */
		const char	*kv[2][2];	/* set on top of it */
		const char	*want;
	} cases[] = {
		{ 1, { { "sse_kms_key_id", "alias/backups" } },
		    "sse_kms_key_id: only with sse = aws:kms" },
		{ 1, { { "credentials", "imds" } },
		    "access_key: only with credentials = static or auto" },
		{ 0, { { "credentials", "static" } },
		    "access_key and secret_key: both required" },
		{ 0, { { "credentials", "pod-identity" },
		    { "role_arn", "arn:aws:iam::123456789012:role/kb" } },
		    "role_arn: only with credentials = web-identity or auto" },
	};
	struct config	*cfg;
	char		 err[KB_ERRLEN];
	size_t		 i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg = cases[i].keys ? base() : keyless("b3b");
		for (j = 0; j < 2 && cases[i].kv[j][0] != NULL; j++)
			config_set(cfg, "storage", cases[i].kv[j][0], cases[i].kv[j][1]);
		expect_invalid(cfg, cases[i].want);
	}

	cfg = keyless("b3b");
	config_set_secret(cfg, "storage", "session_token", "tok");
	expect_invalid(cfg, "session_token: only with access_key and secret_key");

	/* keyless: fine at config time, the source is found when the location is used */
	cfg = keyless("b3b");
	config_set(cfg, "storage", "credentials", "web-identity");
	config_set(cfg, "storage", "role_arn", "arn:aws:iam::123456789012:role/kb");
	config_set(cfg, "storage", "web_identity_token_file", "/var/run/token");
	assert_int_equal(tu_storage_validate(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

/* Defaults come from the schema alone. */
static void
test_defaults(void **state)
{
	struct config			*cfg = base();
	const struct config_section	*sec;
	char				 err[KB_ERRLEN];

	assert_int_equal(tu_storage_validate(cfg, err, sizeof(err)), 0);
	sec = config_section(cfg, "storage");
	assert_int_equal(config_get_size(sec, "part_size"), 8 * 1024 * 1024);
	assert_int_equal(config_get_uint(sec, "parts_in_flight"), 3);
	assert_int_equal(config_get_uint(sec, "max_tries"), 5);
	assert_string_equal(config_get(sec, "credentials"), "auto");
	assert_string_equal(config_get(sec, "object_lock"), "off");
	assert_string_equal(config_get(sec, "checksum"), "sha256");
	assert_int_equal(config_get_duration(sec, "role_session_duration"), 3600);
	config_free(cfg);
}

static void
test_open_describe(void **state)
{
	struct config	*cfg = base();
	struct storage	*st;
	char		 err[KB_ERRLEN], buf[256];

	config_set(cfg, "storage", "prefix", "/prod/");
	assert_int_equal(tu_storage_validate(cfg, err, sizeof(err)), 0);
	assert_int_equal(storage_open(config_section(cfg, "storage"), &st, err,
	    sizeof(err)), 0);
	assert_string_equal(st->ops->desc->type, "s3");
	st->ops->describe(st, buf, sizeof(buf));
	assert_string_equal(buf, "s3://db-backups/prod");
	storage_close(st);
	config_free(cfg);
}

/* A section read without the schema (its defaults) is refused, not misread. */
static void
test_no_schema(void **state)
{
	struct config	*cfg = base();
	struct storage	*st;
	char		 err[KB_ERRLEN];

	assert_int_equal(storage_open(config_section(cfg, "storage"), &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "schema"));
	config_free(cfg);
}

static void
test_keys_table(void **state)
{
	const struct config_key	*k;
	int			 n = 0, secrets = 0;

	for (k = storage_s3.desc->keys; k->name != NULL; k++) {
		n++;
		if (k->type == CFG_SECRET)
			secrets++;
		/* merged into one [storage] schema with other types */
		assert_int_equal(k->required, 0);
	}
	assert_int_equal(n, 24);
	assert_int_equal(secrets, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_open_describe),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_cross_keys),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_schema),
		cmocka_unit_test(test_keys_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
