/*
 * test_s3_xml: parsing of S3 error, listing and multipart responses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/util.h"
#include "storage/s3/s3_xml.h"

#define S(x)	x, strlen(x)

/*
 * The error documents stores send: S3's, CompleteMultipartUpload's answer
 * of 200 that failed in the body, Ceph RGW's with an empty <Message>, and
 * STS's in <ErrorResponse>.
 */
static void
test_error(void **state)
{
	static const struct {
		const char	*body;
		struct s3_error	 want;
	} cases[] = {
		{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<Error><Code>NoSuchBucket</Code>"
		    "<Message>The specified bucket does not exist</Message>"
		    "<BucketName>nope</BucketName><RequestId>4442587FB7D0A2F9</RequestId>"
		    "<HostId>x</HostId></Error>",
		    { "NoSuchBucket", "The specified bucket does not exist",
		    "4442587FB7D0A2F9" } },
		{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n\n"
		    "<Error><Code>InternalError</Code><Message>We encountered an internal "
		    "error. Please try again.</Message><RequestId>656c76696e6727732072657175657374"
		    "</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg=="
		    "</HostId></Error>",
		    { "InternalError", "We encountered an internal error. Please try again.",
		    "656c76696e6727732072657175657374" } },
		{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
		    "AccessDenied</Code><Message></Message><RequestId>tx1</RequestId></Error>",
		    { "AccessDenied", "", "tx1" } },
		{ "<ErrorResponse><Error><Type>Sender</Type><Code>"
		    "InvalidIdentityToken</Code><Message>bad</Message></Error><RequestId>r2"
		    "</RequestId></ErrorResponse>",
		    { "InvalidIdentityToken", "bad", "r2" } },
	};
	struct s3_error	e;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(s3_xml_error(S(cases[i].body), &e), 1);
		assert_string_equal(e.code, cases[i].want.code);
		assert_string_equal(e.message, cases[i].want.message);
		assert_string_equal(e.request_id, cases[i].want.request_id);
	}
}

static void
test_not_error(void **state)
{
	struct s3_error	e;
	/* What CompleteMultipartUpload answers when it worked. */
	const char	*ok =
	    "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Location>http://b.s3.amazonaws.com/k</Location><Bucket>b</Bucket><Key>k</Key>"
	    "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
	    "</CompleteMultipartUploadResult>";

	assert_int_equal(s3_xml_error(S("<ListBucketResult/>"), &e), 0);
	assert_int_equal(s3_xml_error(S("not xml at all <"), &e), 0);
	assert_int_equal(s3_xml_error(NULL, 0, &e), 0);
	assert_int_equal(s3_xml_error(S(""), &e), 0);
	assert_int_equal(s3_xml_error(S(ok), &e), 0);
}

static void
test_time(void **state)
{
	time_t	t;

	assert_int_equal(s3_xml_time("2026-11-24T03:00:00.000Z", &t), 0);
	assert_int_equal((long long)t, 1795489200LL);
	assert_int_equal(s3_xml_time("2026-11-24T03:00:00Z", &t), 0);
	assert_int_equal((long long)t, 1795489200LL);
	assert_int_equal(s3_xml_time("2026-11-24 03:00", &t), -1);
	assert_int_equal(s3_xml_time("2026-11-24T03:00:00.000+02:00", &t), -1);
}

struct seen {
	int		n;
	uint64_t	total;
	char		last[64];
	time_t		mtime;
	int		stop_at;
};

static int
on_object(const char *key, uint64_t size, time_t mtime, const char *etag, void *arg)
{
	struct seen	*s = arg;

	s->n++;
	s->total += size;
	s->mtime = mtime;
	strlcpy(s->last, key, sizeof(s->last));
	return s->stop_at != 0 && s->n == s->stop_at ? -1 : 0;
}

static const char list_body[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/a &amp; b</Key><LastModified>2026-11-24T03:00:00.000Z</LastModified>"
    "<ETag>&quot;x&quot;</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>p/\xc3\xbc</Key><LastModified>2026-11-24T03:00:00.000Z</LastModified>"
    "<Size>5</Size></Contents>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

static void
test_list(void **state)
{
	struct seen	 s;
	char		 err[KB_ERRLEN], *next;

	memset(&s, 0, sizeof(s));
	assert_int_equal(s3_xml_list_objects(S(list_body), on_object, &s, &next, err,
	    sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.total, 15);
	assert_string_equal(s.last, "p/\xc3\xbc");
	assert_int_equal((long long)s.mtime, 1795489200LL);
	assert_non_null(next);
	assert_string_equal(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	free(next);

	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(s3_xml_list_objects(S(list_body), on_object, &s, &next, err,
	    sizeof(err)), -1);
	assert_null(next);
	assert_string_equal(s.last, "p/a & b");
}

static void
test_list_last_page(void **state)
{
	struct seen	 s;
	char		 err[KB_ERRLEN], *next;
	const char	*body = "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "</ListBucketResult>";

	memset(&s, 0, sizeof(s));
	assert_int_equal(s3_xml_list_objects(S(body), on_object, &s, &next, err,
	    sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	assert_null(next);
	/* truncated without a token would loop forever */
	assert_int_equal(s3_xml_list_objects(S("<ListBucketResult><IsTruncated>true"
	    "</IsTruncated></ListBucketResult>"), on_object, &s, &next, err,
	    sizeof(err)), -1);
	assert_int_equal(s3_xml_list_objects(S("<Error><Code>X</Code></Error>"),
	    on_object, &s, &next, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ListBucketResult"));
}

static int
on_upload(const char *key, const char *id, time_t t, void *arg)
{
	struct seen	*s = arg;

	s->n++;
	s->mtime = t;
	strlcpy(s->last, id, sizeof(s->last));
	return 0;
}

static void
test_uploads(void **state)
{
	struct seen	 s;
	char		 err[KB_ERRLEN], *nk, *ni;
	const char	*body =
	    "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
	    "<NextKeyMarker>p/k</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker>"
	    "<IsTruncated>true</IsTruncated>"
	    "<Upload><Key>p/k</Key><UploadId>id1</UploadId>"
	    "<Initiated>2026-11-24T03:00:00.000Z</Initiated></Upload>"
	    "<Upload><Key>p/k</Key><UploadId>id2</UploadId>"
	    "<Initiated>2026-11-24T03:00:01.000Z</Initiated></Upload>"
	    "</ListMultipartUploadsResult>";

	memset(&s, 0, sizeof(s));
	assert_int_equal(s3_xml_list_uploads(S(body), on_upload, &s, &nk, &ni, err,
	    sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.last, "id2");
	assert_int_equal((long long)s.mtime, 1795489201LL);
	assert_string_equal(nk, "p/k");
	assert_string_equal(ni, "id2");
	free(nk);
	free(ni);
}

static void
test_upload_id(void **state)
{
	char		 err[KB_ERRLEN], *id;
	const char	*body =
	    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
	    "</InitiateMultipartUploadResult>";

	assert_int_equal(s3_xml_upload_id(S(body), &id, err, sizeof(err)), 0);
	assert_string_equal(id, "VXBsb2FkIElE");
	free(id);
	assert_int_equal(s3_xml_upload_id(S("<InitiateMultipartUploadResult/>"), &id, err,
	    sizeof(err)), -1);
	assert_null(id);
}

static void
test_delete_result(void **state)
{
	char		 err[KB_ERRLEN];
	const char	*bad = "<DeleteResult><Deleted><Key>a</Key></Deleted>"
	    "<Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
	    "</Error></DeleteResult>";

	assert_int_equal(s3_xml_delete_result(S("<DeleteResult/>"), err, sizeof(err)), 0);
	assert_int_equal(s3_xml_delete_result(S(bad), err, sizeof(err)), -1);
	assert_string_equal(err, "delete b: AccessDenied: Access Denied");
}

static void
test_escape(void **state)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;

	s3_xml_append(&buf, &len, &cap, "<Key>");
	s3_xml_escape(&buf, &len, &cap, "a<b>&\"c'");
	s3_xml_append(&buf, &len, &cap, "</Key>");
	assert_string_equal(buf, "<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>");
	assert_int_equal(len, strlen(buf));
	free(buf);
}

struct versions {
	int	n;
	int	markers;
	char	last[64];
};

static int
on_version(const char *key, const char *id, int marker, void *arg)
{
	struct versions	*v = arg;

	v->n++;
	v->markers += marker;
	snprintf(v->last, sizeof(v->last), "%s@%s", key, id);
	return 0;
}

static void
test_versions(void **state)
{
	const char	*body = "<ListVersionsResult><IsTruncated>true</IsTruncated>"
	    "<NextKeyMarker>k</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker>"
	    "<DeleteMarker><Key>k</Key><VersionId>m1</VersionId></DeleteMarker>"
	    "<Version><Key>k</Key><VersionId>v2</VersionId><Size>6</Size></Version>"
	    "</ListVersionsResult>";
	const char	*bad = "<ListVersionsResult><Version><Key>k</Key></Version>"
	    "</ListVersionsResult>";
	struct versions	 v = { 0, 0, "" };
	char		 err[KB_ERRLEN], *nk, *nv;

	assert_int_equal(s3_xml_list_versions(body, strlen(body), on_version, &v, &nk, &nv,
	    err, sizeof(err)), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.markers, 1);
	assert_string_equal(v.last, "k@v2");
	assert_string_equal(nk, "k");
	assert_string_equal(nv, "v2");
	free(nk);
	free(nv);
	assert_int_equal(s3_xml_list_versions(bad, strlen(bad), on_version, &v, &nk, &nv,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "without <Key> or <VersionId>"));
}

static void
test_lock_config(void **state)
{
	const char	*on = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
	    "</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>1"
	    "</Years></DefaultRetention></Rule></ObjectLockConfiguration>";
	const char	*plain = "<ObjectLockConfiguration/>";
	const char	*ver = "<VersioningConfiguration><Status>Suspended</Status>"
	    "</VersioningConfiguration>";
	const char	*never = "<VersioningConfiguration/>";
	const char	*ret = "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>"
	    "2031-01-01T00:00:00.000000000Z</RetainUntilDate></Retention>";
	char		 mode[16], period[16], err[KB_ERRLEN];
	time_t		 until;
	int		 enabled;

	assert_int_equal(s3_xml_lock_config(on, strlen(on), &enabled, mode, sizeof(mode),
	    period, sizeof(period), err, sizeof(err)), 0);
	assert_int_equal(enabled, 1);
	assert_string_equal(mode, "COMPLIANCE");
	assert_string_equal(period, "1y");
	assert_int_equal(s3_xml_lock_config(plain, strlen(plain), &enabled, mode,
	    sizeof(mode), period, sizeof(period), err, sizeof(err)), 0);
	assert_int_equal(enabled, 0);
	assert_int_equal(s3_xml_versioning(ver, strlen(ver), err, sizeof(err)), 2);
	assert_int_equal(s3_xml_versioning(never, strlen(never), err, sizeof(err)), 0);
	assert_int_equal(s3_xml_versioning(plain, strlen(plain), err, sizeof(err)), -1);
	assert_int_equal(s3_xml_retention(ret, strlen(ret), mode, sizeof(mode), &until, err,
	    sizeof(err)), 0);
	assert_string_equal(mode, "GOVERNANCE");
	assert_int_equal(until, 1924992000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_not_error),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_last_page),
		cmocka_unit_test(test_uploads),
		cmocka_unit_test(test_upload_id),
		cmocka_unit_test(test_delete_result),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_lock_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
