/*
 * test_s3_etag: the multipart ETag that recognises kbackup's own object after
 * a lost CompleteMultipartUpload answer.  Expected values were computed
 * with Python's hashlib: md5(b"".join(bytes.fromhex(e) for e in parts)).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "storage/s3/s3_etag.h"

/* md5 of 5 MiB of 'a' and of 1000 'b' */
#define PART_A	"\"79b281060d337b9b2b84ccf390adcf74\""
#define PART_B	"\"c73c16de8912c313c06ac38b9961e806\""

static void
expect_etag(const char *const *parts, unsigned n, const char *want)
{
	char	got[S3_ETAG_LEN];

	assert_int_equal(s3_etag_multipart(parts, n, got, sizeof(got)), 0);
	assert_string_equal(got, want);
}

static void
test_known(void **state)
{
	const char	*ab[] = { PART_A, PART_B }, *ba[] = { PART_B, PART_A };
	const char	*seen[] = { "\"6d4408f56ff575da0504784704236bf2\"",
			    "\"82453e32889fc831b8cb513f08b8b641\"" };

	expect_etag(ab, 2, "\"8c6f96fe400c627d9394af6161f5921d-2\"");
	expect_etag(ab, 1, "\"65d79814053817eae59f7c7cee98d3f8-1\"");
	/* the same parts in another order are another object */
	expect_etag(ba, 2, "\"f8b8451b6f9a54bc4f6bf735977c4561-2\"");
	/* part ETags as s3rver answered UploadPart */
	expect_etag(seen, 2, "\"df6b9be7e4286a5563d2445e6f162ce4-2\"");
}

static void
test_part_forms(void **state)
{
	const char	*bare[] = { "79b281060d337b9b2b84ccf390adcf74",
			    "c73c16de8912c313c06ac38b9961e806" };
	const char	*upper[] = { "\"79B281060D337B9B2B84CCF390ADCF74\"", PART_B };

	expect_etag(bare, 2, "\"8c6f96fe400c627d9394af6161f5921d-2\"");
	expect_etag(upper, 2, "\"8c6f96fe400c627d9394af6161f5921d-2\"");
}

static void
test_not_md5(void **state)
{
	const char	*bad[] = { "\"79b281060d337b9b2b84ccf390adcf7\"",
			    "\"79b281060d337b9b2b84ccf390adcf74-2\"",
			    "\"79b281060d337b9b2b84ccf390adcfZ4\"",
			    "\"79b281060d337b9b2b84ccf390adcf74",
			    "", NULL };
	const char	*two[2] = { PART_A, NULL };
	char		 out[S3_ETAG_LEN];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		two[1] = bad[i];
		assert_int_equal(s3_etag_multipart(two, 2, out, sizeof(out)), -1);
	}
	assert_int_equal(s3_etag_multipart(two, 0, out, sizeof(out)), -1);
	/* too small a buffer */
	assert_int_equal(s3_etag_multipart(two, 1, out, 10), -1);
}

static void
test_same(void **state)
{
	const char	*mp = "\"8c6f96fe400c627d9394af6161f5921d-2\"";

	assert_true(s3_etag_same(mp, mp));
	assert_true(s3_etag_same(mp, "8c6f96fe400c627d9394af6161f5921d-2"));
	assert_true(s3_etag_same("\"8C6F96FE400C627D9394AF6161F5921D-2\"", mp));
	/* the whole object's MD5, as s3rver gives it, is not the multipart ETag */
	assert_false(s3_etag_same("\"8288901f967dee4dbde15b6ca09e3cb1\"", mp));
	assert_false(s3_etag_same("\"8c6f96fe400c627d9394af6161f5921d-3\"", mp));
	assert_false(s3_etag_same("\"8c6f96fe400c627d9394af6161f5921d\"", mp));
	assert_false(s3_etag_same("", mp));
	assert_false(s3_etag_same("\"\"", "\"\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_part_forms),
		cmocka_unit_test(test_not_md5),
		cmocka_unit_test(test_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
