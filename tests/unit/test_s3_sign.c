/*
 * test_s3_sign: Signature Version 4 against the worked examples of the
 * Amazon S3 API Reference ("Signature Calculations for the Authorization
 * Header: Transferring Payload in a Single Chunk"), and header canonical
 * form: sorting by name even when one name is a prefix of another, value
 * trimming.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "storage/s3/s3_sign.h"

#define AKID	"AKIAIOSFODNN7EXAMPLE"
#define SECRET	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DATE	"20130524T000000Z"

static void
expect(const char *method, const char *path, const char *query,
    const struct s3_header *h, size_t n, const char *payload, const char *want)
{
	struct s3_sign_req	r = { method, path, query, h, n, payload, DATE, "us-east-1",
				    "s3", AKID, SECRET };
	char			*auth = s3_sign(&r);

	if (strcmp(auth, want) != 0)
		fail_msg("got  %s\nwant %s", auth, want);
	free(auth);
}

static void
test_get_object(void **state)
{
	const struct s3_header	h[] = {
		{ "x-amz-date", DATE },
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY },
	};

	expect("GET", "/test.txt", "", h, 4, EMPTY,
	    "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void
test_put_object(void **state)
{
	const char		*body =
	    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	const struct s3_header	h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-date", DATE },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", body },
	};

	expect("PUT", "/test%24file.text", "", h, 5, body,
	    "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
	    "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* A GET of the bucket itself: the same headers, the query signed. */
static void
expect_bucket_get(const char *query, const char *signature)
{
	const struct s3_header	h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", DATE },
		{ "x-amz-content-sha256", EMPTY },
	};
	char			*want;

	want = xasprintf("AWS4-HMAC-SHA256 Credential=" AKID
	    "/20130524/us-east-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
	    "Signature=%s", signature);
	expect("GET", "/", query, h, 3, EMPTY, want);
	free(want);
}

static void
test_get_lifecycle(void **state)
{
	expect_bucket_get("lifecycle=",
	    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static void
test_list_objects(void **state)
{
	expect_bucket_get("max-keys=2&prefix=J",
	    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* Names that are prefixes of others sort first; values are trimmed and squeezed. */
static void
test_canonical_headers(void **state)
{
	const struct s3_header	a[] = {
		{ "x-amz-server-side-encryption-aws-kms-key-id", "k1" },
		{ "x-amz-server-side-encryption", "aws:kms" },
		{ "host", "h" },
		{ "x-amz-meta-a", "  two   words  " },
	};
	const struct s3_header	b[] = {
		{ "host", "h" },
		{ "x-amz-meta-a", "two words" },
		{ "x-amz-server-side-encryption", "aws:kms" },
		{ "x-amz-server-side-encryption-aws-kms-key-id", "k1" },
	};
	struct s3_sign_req	r = { "PUT", "/k", "", a, 4, EMPTY, DATE, "us-east-1", "s3",
				    AKID, SECRET };
	char			*x, *y;

	x = s3_sign(&r);
	r.headers = b;
	y = s3_sign(&r);
	assert_string_equal(x, y);
	assert_non_null(strstr(x, "SignedHeaders=host;x-amz-meta-a;"
	    "x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id,"));
	assert_null(strstr(x, SECRET));
	free(x);
	free(y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_object),
		cmocka_unit_test(test_put_object),
		cmocka_unit_test(test_get_lifecycle),
		cmocka_unit_test(test_list_objects),
		cmocka_unit_test(test_canonical_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
