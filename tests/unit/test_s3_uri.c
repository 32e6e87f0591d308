/*
 * test_s3_uri: canonical S3 paths and query strings (signed as written).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/s3/s3_uri.h"

static void
check_enc(const char *in, int keep_slash, const char *want)
{
	char	*got = s3_uri_encode(in, keep_slash);

	assert_string_equal(got, want);
	free(got);
}

static void
test_unreserved(void **state)
{
	check_enc("AZaz09-._~", 0, "AZaz09-._~");
	check_enc("", 0, "");
}

static void
test_reserved(void **state)
{
	check_enc("a b", 1, "a%20b");
	check_enc("+=!*'()", 1, "%2B%3D%21%2A%27%28%29");
	check_enc("&?#%", 0, "%26%3F%23%25");
	check_enc("a:b@c,d;e$f", 0, "a%3Ab%40c%2Cd%3Be%24f");
}

static void
test_non_ascii(void **state)
{
	/* UTF-8 bytes, uppercase hex */
	check_enc("\xc3\xbc", 1, "%C3%BC");
	check_enc("pr\xc3\xa9" "fix/\xe2\x82\xac", 1, "pr%C3%A9fix/%E2%82%AC");
}

static void
test_slash(void **state)
{
	check_enc("a/b c/d", 1, "a/b%20c/d");
	check_enc("a/b", 0, "a%2Fb");
}

static void
test_query_sorted(void **state)
{
	struct s3_query	 q;
	char		*s;

	s3_query_init(&q);
	s3_query_add(&q, "prefix", "a/b c");
	s3_query_add(&q, "list-type", "2");
	s3_query_add(&q, "continuation-token", "1/x+y==");
	s = s3_query_string(&q);
	assert_string_equal(s,
	    "continuation-token=1%2Fx%2By%3D%3D&list-type=2&prefix=a%2Fb%20c");
	free(s);
	s3_query_free(&q);
}

static void
test_query_valueless(void **state)
{
	struct s3_query	 q;
	char		*s;

	s3_query_init(&q);
	s3_query_add(&q, "uploads", NULL);
	s = s3_query_string(&q);
	assert_string_equal(s, "uploads=");
	free(s);
	s3_query_add(&q, "prefix", "");
	free(s3_query_string(&q));
	s = s3_query_string(&q);
	assert_string_equal(s, "prefix=&uploads=");
	free(s);
	s3_query_free(&q);

	s3_query_init(&q);
	s = s3_query_string(&q);
	assert_string_equal(s, "");
	free(s);
	s3_query_free(&q);
}

static void
test_query_parts(void **state)
{
	struct s3_query	 q;
	char		*s;

	/* sorted by byte value of the encoded name */
	s3_query_init(&q);
	s3_query_add(&q, "uploadId", "abc=");
	s3_query_add(&q, "partNumber", "10");
	s = s3_query_string(&q);
	assert_string_equal(s, "partNumber=10&uploadId=abc%3D");
	free(s);
	s3_query_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreserved),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_non_ascii),
		cmocka_unit_test(test_slash),
		cmocka_unit_test(test_query_sorted),
		cmocka_unit_test(test_query_valueless),
		cmocka_unit_test(test_query_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
