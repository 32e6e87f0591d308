/*
 * fuzz_s3_xml: arbitrary bytes as every S3 response body kbackup parses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"
#include "storage/s3/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
on_object(const char *key, uint64_t size, time_t mtime, const char *etag, void *arg)
{
	return 0;
}

static int
on_upload(const char *key, const char *id, time_t initiated, void *arg)
{
	return 0;
}

static int
on_version(const char *key, const char *id, int marker, void *arg)
{
	return 0;
}

static void
sts(const char *body, size_t size)
{
	char	*k, *s, *t, err[KB_ERRLEN];
	time_t	 exp;

	if (s3_xml_sts_credentials(body, size, &k, &s, &t, &exp, err, sizeof(err)) == 0) {
		free(k);
		free(s);
		free(t);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*body = (const char *)data;
	struct s3_error	 e;
	char		 err[KB_ERRLEN], *a, *b, mode[16], period[16];
	time_t		 t;
	int		 enabled;

	s3_xml_error(body, size, &e);
	if (s3_xml_list_objects(body, size, on_object, NULL, &a, err, sizeof(err)) == 0)
		free(a);
	if (s3_xml_list_uploads(body, size, on_upload, NULL, &a, &b, err, sizeof(err)) == 0) {
		free(a);
		free(b);
	}
	if (s3_xml_upload_id(body, size, &a, err, sizeof(err)) == 0)
		free(a);
	s3_xml_delete_result(body, size, err, sizeof(err));
	if (s3_xml_list_versions(body, size, on_version, NULL, &a, &b, err, sizeof(err)) == 0) {
		free(a);
		free(b);
	}
	s3_xml_versioning(body, size, err, sizeof(err));
	s3_xml_lock_config(body, size, &enabled, mode, sizeof(mode), period, sizeof(period),
	    err, sizeof(err));
	s3_xml_retention(body, size, mode, sizeof(mode), &t, err, sizeof(err));
	sts(body, size);
	return 0;
}
