/*
 * test_record: the one JSON form of a backup (manifests and the index), its
 * strict reader, format 1 read as before, job markers, backup IDs and the
 * strict stored time formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "common/util.h"
#include "runner/catalog/backup_id.h"
#include "runner/catalog/index.h"
#include "runner/catalog/marker.h"
#include "runner/catalog/record.h"
#include "tests/unit/testutil.h"

#define PART "{\"name\":\"data\",\"key\":\"test/orders/backups/20261124T030000Z/data\"," \
	"\"raw_bytes\":10,\"stored_bytes\":5,\"sha256\":\"" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"frames\":1," \
	"\"encryption\":{\"cipher\":\"none\",\"kdf\":\"none\"}}"
#define HEAD "\"format\":2,\"id\":\"20261124T030000Z\",\"name\":\"orders\"," \
	"\"namespace\":\"test\",\"engine\":\"postgres\",\"tool_version\":\"x\"," \
	"\"mode\":\"retained\",\"started\":\"2026-11-24T03:00:00Z\"," \
	"\"finished\":\"2026-11-24T03:00:10Z\",\"raw_bytes\":10,\"stored_bytes\":5," \
	"\"compression\":\"none\""
#define R(parts, labels, extra) "{" HEAD ",\"parts\":[" parts "],\"labels\":[" labels "]" \
	extra "}"
#define OK R(PART, "{\"name\":\"daily:2026-11-24\",\"expires\":\"2026-12-01T03:00:10Z\"}", \
	",\"runner_version\":\"0.2\",\"host\":\"h\",\"runner_id\":\"0123456789ab\"," \
	"\"details\":{\"lsn\":\"0/3000028\"}")

/*
 * json (in the writer's order of keys) with the checksum a writer adds:
 * SHA-256 of its compact form.
 */
static char *
with_checksum(const char *json)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	json_error_t	 jerr;
	json_t		*o;
	char		*s, hex[65], sum[72];

	o = json_loads(json, 0, &jerr);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	SHA256((const unsigned char *)s, strlen(s), md);
	hex_encode(md, sizeof(md), hex);
	snprintf(sum, sizeof(sum), "sha256:%s", hex);
	free(s);
	json_object_set_new(o, "checksum", json_string(sum));
	s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static void
test_roundtrip(void **state)
{
	struct backup_record	 m, m2, copy;
	char			 err[KB_ERRLEN], *a, *b, *ok = with_checksum(OK), *p;

	if (record_parse(ok, strlen(ok), &m, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(m.nparts, 1);
	assert_string_equal(m.parts[0].key, "test/orders/backups/20261124T030000Z/data");
	assert_int_equal(m.nlabels, 1);
	assert_non_null(m.details);
	a = record_to_text(&m);
	assert_int_equal(record_parse(a, strlen(a), &m2, err, sizeof(err)), 0);
	b = record_to_text(&m2);
	assert_string_equal(a, b);
	record_copy(&copy, &m2);
	free(b);
	b = record_to_text(&copy);
	assert_string_equal(a, b);
	assert_int_equal(record_kept_until(&m), 1796094010);
	free(a);
	free(b);
	record_free(&m);
	record_free(&m2);
	record_free(&copy);

	/* A flipped bit anywhere a parser would still take: the checksum says so. */
	p = strstr(ok, "\"orders\"");
	p[1] = 'O';
	assert_int_equal(record_parse(ok, strlen(ok), &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "checksum: the manifest is not what was written"));
	p[1] = 'o';
	p = strstr(ok, "\"raw_bytes\": 10");
	p[14] = '1';
	assert_int_equal(record_parse(ok, strlen(ok), &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "checksum"));
	free(ok);
}

/* A manifest of kbackup 0.1 (format 1) reads as one part called data. */
static void
test_format1(void **state)
{
	static const char f1[] = "{\"format\":1,\"id\":\"20261124T030000Z\",\"name\":\"orders\","
	    "\"namespace\":\"test\",\"engine\":\"postgres\",\"tool_version\":\"x\","
	    "\"mode\":\"retained\",\"data\":\"test/orders/backups/20261124T030000Z/data\","
	    "\"started\":\"2026-11-24T03:00:00Z\",\"finished\":\"2026-11-24T03:00:10Z\","
	    "\"raw_bytes\":10,\"stored_bytes\":5,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"compression\":\"none\",\"frames\":1,"
	    "\"encryption\":{\"cipher\":\"none\",\"kdf\":\"none\"},\"labels\":[],"
	    "\"runner_version\":\"0.1.0\",\"host\":\"h\",\"anything\":\"else\"}";
	struct backup_record	m;
	char			err[KB_ERRLEN];

	if (record_parse(f1, strlen(f1), &m, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(m.format, 1);
	assert_int_equal(m.nparts, 1);
	assert_string_equal(m.parts[0].name, "data");
	assert_int_equal(m.parts[0].stored_bytes, 5);
	assert_int_equal(m.parts[0].raw_bytes, 10);
	assert_null(m.runner_id);
	record_free(&m);
}

static void
test_rejects(void **state)
{
	static const struct tu_refused	bad[] = {
		{ "", "empty" },
		{ "[]", "not a JSON object" },
		{ "{\"format\":3}", "newer kbackup" },
		{ "{\"format\":\"2\"}", "format" },
		{ "{" HEAD "," HEAD "}", "duplicate" },
		{ R(PART, "", ",\"size\":1"), "unknown key \"size\"" },
		{ R("", "", ""), "parts" },
		{ R(PART "," PART, "", ""), "given twice" },
		{ R("{\"name\":\"data\",\"key\":\"../etc/passwd\",\"raw_bytes\":1,"
		    "\"stored_bytes\":1,\"sha256\":\"x\",\"encryption\":{}}", "", ""),
		    "not a relative key" },
		{ R("{\"name\":\"data\",\"key\":\"/abs\",\"raw_bytes\":1,"
		    "\"stored_bytes\":1,\"sha256\":\"x\",\"encryption\":{}}", "", ""),
		    "not a relative key" },
		{ R("{\"name\":\"data\",\"key\":\"k\",\"raw_bytes\":1,\"stored_bytes\":1,"
		    "\"sha256\":\"AAAA\",\"encryption\":{\"cipher\":\"none\",\"kdf\":\"none\"}}",
		    "", ""), "sha256" },
		{ R("{\"name\":\"data\",\"key\":\"k\",\"raw_bytes\":-1,\"stored_bytes\":1,"
		    "\"sha256\":\"x\",\"encryption\":{}}", "", ""), "raw_bytes" },
		{ R(PART, "{\"name\":\"nocolon\",\"expires\":\"2026-11-24T03:04:12Z\"}", ""),
		    "not RULE:VALUE" },
		{ R(PART, "{\"name\":\"Daily:x\",\"expires\":\"2026-11-24T03:04:12Z\"}", ""),
		    "not RULE:VALUE" },
		{ R(PART, "{\"name\":\"d:\\n\",\"expires\":\"2026-11-24T03:04:12Z\"}", ""),
		    "not RULE:VALUE" },
		{ R(PART, "{\"name\":\"d:1\"}", ""), "expires" },
		{ R(PART, "{\"name\":\"d:1\",\"expires\":\"2026-02-30T03:04:12Z\"}", ""),
		    "expires" },
		{ R(PART, "{\"name\":\"d:1\",\"expires\":\"2026-11-24T03:04:12+01:00\"}", ""),
		    "expires" },
		{ R(PART, "{\"name\":\"d:1\",\"expires\":1795536000}", ""), "expires" },
		{ R(PART, "{\"name\":\"d:1\",\"expires\":\"2026-11-24T03:04:12Z\"},"
		    "{\"name\":\"d:1\",\"expires\":\"2026-11-24T03:04:12Z\"}", ""), "twice" },
		{ R(PART, "", ",\"details\":[]"), "details" },
		{ "{\"format\":2,\"id\":\"../x\"}", "not a backup ID" },
		{ "{\"format\":2,\"id\":\"20261124T030000Z-ABCDEF\"}", "not a backup ID" },
		{ "{\"format\":2,\"id\":\"a\\u0000b\"}", "JSON_ALLOW_NUL" },
	};
	struct backup_record	m;
	char			err[KB_ERRLEN];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		tu_expect_refused(&bad[i], record_parse(bad[i].text, strlen(bad[i].text),
		    &m, err, sizeof(err)), err);
	}
}

static void
test_index(void **state)
{
	char		*ok = with_checksum(OK), *good;
	static const struct tu_refused	bad[] = {
		{ "{\"version\":1,\"backups\":[]}", "not an object of version" },
		{ "{\"version\":1,\"definition\":\"test/orders\",\"backups\":[]}", "version" },
		{ "{\"version\":2,\"definition\":\"test/users\",\"backups\":[]}",
		    "definition" },
		{ "{\"version\":2,\"definition\":\"test/orders\",\"backups\":[1]}",
		    "backups[0]" },
		{ "{\"version\":2,\"definition\":\"test/orders\",\"backups\":["
		    "{\"stamp\":\"s1\",\"manifest\":" OK "}]}", "checksum" },
		{ "{\"version\":2,\"definition\":\"test/orders\",\"backups\":["
		    "{\"stamp\":1,\"manifest\":" OK "}]}", "stamp" },
	};
	struct index	 idx, s_idx;
	char		 err[KB_ERRLEN], *s;
	size_t		 i;

	good = xasprintf("{\"version\":2,\"definition\":\"test/orders\","
	    "\"backups\":[{\"stamp\":\"s1\",\"manifest\":%s}]}", ok);
	if (index_parse(good, strlen(good), "test/orders", &idx, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	free(good);
	good = xasprintf("{\"version\":2,\"definition\":\"test/orders\",\"backups\":["
	    "{\"stamp\":\"s1\",\"manifest\":%s},{\"stamp\":\"s2\",\"manifest\":%s}]}", ok, ok);
	assert_int_equal(index_parse(good, strlen(good), "test/orders", &s_idx, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "listed twice"));
	free(good);
	free(ok);
	assert_int_equal(idx.n, 1);
	assert_non_null(index_find(&idx, "20261124T030000Z"));
	assert_null(index_find(&idx, "20261124T030000Z-000000"));
	s = index_to_text(&idx, "test/orders");
	index_free(&idx);
	assert_int_equal(index_parse(s, strlen(s), "test/orders", &idx, err, sizeof(err)), 0);
	index_free(&idx);
	/* Another definition's index is not this one's. */
	assert_int_equal(index_parse(s, strlen(s), "test/users", &idx, err, sizeof(err)), -1);
	free(s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_expect_refused(&bad[i], index_parse(bad[i].text, strlen(bad[i].text),
		    "test/orders", &idx, err, sizeof(err)), err);
		assert_int_equal(idx.n, 0);
	}
}

static void
test_ids_and_times(void **state)
{
	char	id[BACKUP_ID_MAX], id2[BACKUP_ID_MAX];
	time_t	t;

	backup_id_new(1795536000, id);
	assert_int_equal(strlen(id), 23);
	assert_int_equal(strncmp(id, "20261124T160000Z-", 17), 0);
	assert_int_equal(backup_id_parse(id, &t), 0);
	assert_int_equal(t, 1795536000);
	backup_id_new(1795536000, id2);
	assert_string_not_equal(id, id2);	/* 24 random bits: the same second differs */
	assert_int_equal(backup_id_parse("20261124T160000Z", &t), 0);
	assert_int_equal(backup_id_parse("20261124T160000Z-", &t), -1);
	assert_int_equal(backup_id_parse("20261124T160000Z-abcdeg", &t), -1);
	assert_int_equal(backup_id_parse("20261124T160000Z_abcdef", &t), -1);
	assert_int_equal(backup_id_parse("20260230T160000Z", &t), -1);
	assert_int_equal(backup_id_parse("2026112T1600000Z", &t), -1);
	/* Old and new IDs of one second sort together, by time. */
	assert_true(strcmp("20261124T160000Z", id) < 0);
	assert_true(strcmp(id, "20261124T160001Z") < 0);

	assert_int_equal(rfc3339_to_time("2026-11-24T16:00:00Z", &t), 0);
	assert_int_equal(t, 1795536000);
	assert_int_equal(rfc3339_to_time("2026-11-24T16:00:00", &t), -1);
	assert_int_equal(rfc3339_to_time("2026-11-24 16:00:00Z", &t), -1);
	assert_int_equal(rfc3339_to_time("2026-1-24T16:00:00Z", &t), -1);
	assert_int_equal(rfc3339_to_time("2026-11-31T16:00:00Z", &t), -1);
	assert_int_equal(rfc3339_to_time("1969-12-31T23:59:59Z", &t), -1);
	assert_int_equal(rfc3339_to_time("2026-11-24T24:00:00Z", &t), -1);
}

static void
test_marker(void **state)
{
	struct marker	m, back;
	char		err[KB_ERRLEN], *s, desc[400];

	memset(&m, 0, sizeof(m));
	strlcpy(m.id, "20261124T160000Z-abcdef", sizeof(m.id));
	strlcpy(m.runner_id, "0123456789ab", sizeof(m.runner_id));
	strlcpy(m.host, "db1", sizeof(m.host));
	m.pid = 4242;
	m.started = 1795536000;
	s = marker_to_text(&m);
	assert_int_equal(marker_parse(s, strlen(s), &back, err, sizeof(err)), 0);
	assert_string_equal(back.id, m.id);
	assert_int_equal(back.pid, 4242);
	marker_describe(&back, desc, sizeof(desc));
	assert_string_equal(desc, "runner 0123456789ab on host db1, pid 4242, since "
	    "2026-11-24T16:00:00Z");
	free(s);
	assert_int_equal(marker_parse("{}", 2, &back, err, sizeof(err)), -1);
	assert_int_equal(marker_parse("{\"version\":2,\"id\":\"x\",\"runner_id\":\"r\","
	    "\"host\":\"h\",\"pid\":1,\"started\":\"2026-11-24T16:00:00Z\"}", 92, &back, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_format1),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_ids_and_times),
		cmocka_unit_test(test_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
