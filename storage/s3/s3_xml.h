/*
 * s3_xml: the S3 response bodies kbackup reads, parsed with libxml2.
 *
 * Pure functions over a body in memory (no I/O), so that they can be tested
 * and fuzzed alone.  Element names are matched without their namespace.
 */
#ifndef KB_S3_XML_H
#define KB_S3_XML_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct s3_error {
	char	code[64];
	char	message[256];
	char	request_id[128];
};

/* 1 when body is an <Error> document (filled into e), 0 otherwise; STS and
 * IAM wrap theirs in <ErrorResponse>. */
int	 s3_xml_error(const char *body, size_t len, struct s3_error *e);

/* "2026-11-24T03:00:00.000Z" (fraction optional) to a time_t; -1 if bad. */
int	 s3_xml_time(const char *s, time_t *t);

/* ListObjectsV2 result: one call per <Contents>; key is the full key. */
/* etag: the <ETag> as given (quotes included), "" when there is none. */
typedef int (*s3_xml_object_fn)(const char *key, uint64_t size, time_t mtime,
	    const char *etag, void *arg);
/*
 * Calls fn for each object; *next is set to a new NextContinuationToken when
 * the result is truncated, NULL otherwise.  -1 on a bad body or when fn fails.
 */
int	 s3_xml_list_objects(const char *body, size_t len, s3_xml_object_fn fn, void *arg,
	    char **next, char *err, size_t errlen);

/* ListMultipartUploads result: one call per <Upload>. */
typedef int (*s3_xml_upload_fn)(const char *key, const char *upload_id, time_t initiated,
	    void *arg);
/* *next_key and *next_id are set when truncated (new strings), else NULL. */
int	 s3_xml_list_uploads(const char *body, size_t len, s3_xml_upload_fn fn, void *arg,
	    char **next_key, char **next_id, char *err, size_t errlen);

/* CreateMultipartUpload result: the new UploadId (new string). */
int	 s3_xml_upload_id(const char *body, size_t len, char **id, char *err, size_t errlen);

/*
 * DeleteObjects result: 0 when no <Error> is listed, else -1 with the first
 * failed key and its code in err.
 */
int	 s3_xml_delete_result(const char *body, size_t len, char *err, size_t errlen);

/* ListObjectVersions result: one call per <Version> and <DeleteMarker>. */
typedef int (*s3_xml_version_fn)(const char *key, const char *version_id, int delete_marker,
	    void *arg);
/* *next_key and *next_id are set when truncated (new strings), else NULL. */
int	 s3_xml_list_versions(const char *body, size_t len, s3_xml_version_fn fn, void *arg,
	    char **next_key, char **next_id, char *err, size_t errlen);

/* GetBucketVersioning: 1 Enabled, 2 Suspended, 0 never enabled; -1 on a bad body. */
int	 s3_xml_versioning(const char *body, size_t len, char *err, size_t errlen);

/* GetObjectLockConfiguration: *enabled, and the default retention ("" if none). */
int	 s3_xml_lock_config(const char *body, size_t len, int *enabled, char *mode,
	    size_t modelen, char *period, size_t periodlen, char *err, size_t errlen);

/* GetObjectRetention / PutObjectRetention body: <Retention> mode and date. */
int	 s3_xml_retention(const char *body, size_t len, char *mode, size_t modelen,
	    time_t *until, char *err, size_t errlen);

/* STS AssumeRole*: the credentials (new strings) and their expiry. */
int	 s3_xml_sts_credentials(const char *body, size_t len, char **access_key,
	    char **secret_key, char **token, time_t *expiration, char *err, size_t errlen);

/* Appends s to buf (of size *cap, length *len; grown), as is or escaped for XML text. */
void	 s3_xml_append(char **buf, size_t *len, size_t *cap, const char *s);
void	 s3_xml_escape(char **buf, size_t *len, size_t *cap, const char *s);

#endif
