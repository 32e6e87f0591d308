/*
 * s3: the S3 storage backend (AWS S3, Ceph RGW, MinIO, Cloudflare R2,
 * Backblaze B2, Garage, ...): its [storage] keys and its storage_ops.
 * The modules beside it do the work:
 *   s3_xfer   one request: signed (s3_sign) with the credentials of s3_creds,
 *             retried, cancellable (s3_http);
 *   s3_put    uploads, single and multipart;
 *   s3_lock   Object Lock, deletes (every version where the bucket keeps
 *             them), and the probe of a bucket's features for check;
 *   s3_xml    the response bodies; s3_uri paths and queries; s3_etag the
 *             multipart ETag.
 * Downloads stream to the caller and resume with a Range request after a
 * broken transfer.
 *
 * What a store may lack, and what this backend then does:
 *   ListMultipartUploads (s3rver): list_pending fails with *unsupported,
 *     once, without retrying the 501; a lifecycle rule must abort stale
 *     uploads there;
 *   DeleteObjects: one DeleteObject per key, from the first 501 on;
 *   Range: a GET that resumes reads the object from the start again and
 *     drops the bytes it already has;
 *   If-None-Match on writes: the HEAD just before the final request finds
 *     an existing object (a writer racing in between is not seen);
 *   x-amz-checksum-sha256 (RGW 16, s3rver): the signed x-amz-content-sha256
 *     still covers each body on the way;
 *   GetBucketVersioning: deletes are plain, of current versions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/s3/s3_creds.h"
#include "storage/s3/s3_lock.h"
#include "storage/s3/s3_put.h"
#include "storage/s3/s3_uri.h"
#include "storage/s3/s3_xfer.h"
#include "storage/s3/s3_xml.h"
#include "storage/storage.h"

#define MIB	(1024LL * 1024)

static int	 check_endpoint(const char *, char *, size_t);
static int	 check_bucket(const char *, char *, size_t);
static int	 check_region(const char *, char *, size_t);
static int	 check_storage_class(const char *, char *, size_t);

/*
 * The runner merges the keys of every storage type into one [storage] schema,
 * so "required" is left 0 here and s3_validate() checks the bucket.  Every
 * default and bound is here and only here: s3_open() reads the values
 * through the schema.
 */
static const struct config_key s3_keys[] = {
	{ "endpoint", CFG_URL, 0, NULL, "an http:// or https:// URL without a path", 0, 0,
	    check_endpoint },
	{ "region", CFG_STRING, 0, "us-east-1", "a region name", 0, 0, check_region },
	{ "bucket", CFG_STRING, 0, NULL, "a bucket name", 0, 0, check_bucket },
	{ "prefix", CFG_STRING, 0, "", "a key prefix", 0, 0, NULL },
	{ "path_style", CFG_BOOL, 0, "false", NULL, 0, 0, NULL },
	{ "tls_verify", CFG_BOOL, 0, "true", NULL, 0, 0, NULL },
	{ "ca_file", CFG_PATH, 0, NULL, "a PEM file of CA certificates", 0, 0, NULL },
	{ "credentials", CFG_ENUM, 0, "auto", "static|env|web-identity|pod-identity|imds|auto",
	    0, 0, NULL },
	{ "access_key", CFG_SECRET, 0, NULL, "an access key ID", 0, 0, NULL },
	{ "secret_key", CFG_SECRET, 0, NULL, "a secret access key", 0, 0, NULL },
	{ "session_token", CFG_SECRET, 0, NULL, "a session token", 0, 0, NULL },
	{ "role_arn", CFG_STRING, 0, NULL, "a role ARN", 0, 0, s3_creds_check_arn },
	{ "web_identity_token_file", CFG_PATH, 0, NULL, "a file holding a web identity "
	    "token", 0, 0, NULL },
	{ "role_session_name", CFG_STRING, 0, "kbackup", "a session name", 0, 0,
	    s3_creds_check_session_name },
	{ "role_session_duration", CFG_DURATION, 0, "1h", "a duration", 0, 0,
	    s3_creds_check_duration },
	{ "sts_endpoint", CFG_URL, 0, NULL, "an http:// or https:// URL without a path", 0, 0,
	    check_endpoint },
	{ "part_size", CFG_SIZE, 0, "8MiB", "a size of 5MiB to 5GiB", 5 * MIB, 5 * 1024 * MIB,
	    NULL },
	{ "parts_in_flight", CFG_UINT, 0, "3", "a number of parts", 1, 64, NULL },
	{ "max_tries", CFG_UINT, 0, "5", "a number of tries", 1, 100, NULL },
	{ "object_lock", CFG_ENUM, 0, "off", "off|governance|compliance", 0, 0, NULL },
	{ "storage_class", CFG_STRING, 0, NULL, "a storage class such as STANDARD_IA", 0, 0,
	    check_storage_class },
	{ "sse", CFG_ENUM, 0, "off", "off|AES256|aws:kms", 0, 0, NULL },
	{ "sse_kms_key_id", CFG_STRING, 0, NULL, "a KMS key ID or ARN", 0, 0, NULL },
	{ "checksum", CFG_ENUM, 0, "sha256", "sha256|off", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* Config */

/* scheme, host[:port] and nothing after but an optional "/". */
static int
split_url(const char *url, char **scheme, char **host)
{
	const char	*p, *end;

	if ((p = strstr(url, "://")) == NULL)
		return -1;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return -1;
	end = p + 3 + strcspn(p + 3, "/?#");
	if (end == p + 3 || (*end != '\0' && strcmp(end, "/") != 0))
		return -1;
	if (scheme != NULL)
		*scheme = xstrndup(url, (size_t)(p - url));
	if (host != NULL)
		*host = xstrndup(p + 3, (size_t)(end - p - 3));
	return 0;
}

static int
check_endpoint(const char *v, char *err, size_t errlen)
{
	if (split_url(v, NULL, NULL) == -1)
		return errf(err, errlen, "'%s' is not an http:// or https:// URL of a host "
		    "without a path", v);
	return 0;
}

#define UPPER_DIGITS	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define LETTERS_DIGITS	"abcdefghijklmnopqrstuvwxyz" UPPER_DIGITS

/* The length of v if it is made only of the characters of set; else 0. */
static size_t
name_length(const char *v, const char *set)
{
	size_t	n = strspn(v, set);

	return v[n] == '\0' ? n : 0;
}

/* Only characters that stay as they are in a host name and a path. */
static int
check_bucket(const char *v, char *err, size_t errlen)
{
	size_t	n = name_length(v, LETTERS_DIGITS ".-_");

	if (n == 0 || n > 255)
		return errf(err, errlen, "'%s' is not a bucket name (letters, digits, '.', "
		    "'-', '_')", v);
	return 0;
}

static int
check_region(const char *v, char *err, size_t errlen)
{
	if (name_length(v, LETTERS_DIGITS "-_") == 0)
		return errf(err, errlen, "'%s' is not a region name such as eu-central-1", v);
	return 0;
}

static int
check_storage_class(const char *v, char *err, size_t errlen)
{
	if (name_length(v, UPPER_DIGITS "_") == 0)
		return errf(err, errlen, "'%s' is not a storage class such as STANDARD_IA", v);
	return 0;
}

static int
s3_validate(const struct config_section_schema *schema, const struct config_section *sec,
    char *err, size_t errlen)
{
	const char	*sse = config_get(sec, "sse");

	if (config_get_nonempty(sec, "bucket") == NULL)
		return errf(err, errlen, "bucket: required for type = s3");
	if (config_get_nonempty(sec, "sse_kms_key_id") != NULL &&
	    (sse == NULL || strcmp(sse, "aws:kms") != 0))
		return errf(err, errlen, "sse_kms_key_id: only with sse = aws:kms");
	return s3_creds_validate(sec, err, errlen);
}

/* Opening */

static void
s3_free(struct s3 *s3)
{
	if (s3 == NULL)
		return;
	free(s3->scheme);
	free(s3->host);
	free(s3->region);
	free(s3->bucket);
	free(s3->prefix);
	free(s3->ca_file);
	free(s3->storage_class);
	free(s3->sse_kms_key_id);
	s3_creds_free(s3->creds);
	if (s3->multi != NULL)
		curl_multi_cleanup(s3->multi);
	if (s3->share != NULL)
		curl_share_cleanup(s3->share);
	freezero(s3, sizeof(*s3));
}

static const char *
lock_mode(const char *v)
{
	if (v != NULL && strcmp(v, "governance") == 0)
		return "GOVERNANCE";
	if (v != NULL && strcmp(v, "compliance") == 0)
		return "COMPLIANCE";
	return NULL;
}

static void
s3_connect_init(struct s3 *s3)
{
	static int	once;

	if (!once) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		once = 1;
	}
	s3->multi = curl_multi_init();
	s3->share = curl_share_init();
	curl_share_setopt(s3->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(s3->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s3->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

static int
s3_open(struct storage *st, const struct config_section *sec, char *err, size_t errlen)
{
	struct s3	*s3;
	const char	*v;
	char		*def = NULL;
	size_t		 n;
	int		 r;

	if (sec->schema == NULL)
		return errf(err, errlen, "[%s] was read without its schema", sec->name);
	if (s3_validate(NULL, sec, err, errlen) == -1)	/* the config reader did it too */
		return errprefix(err, errlen, "[%s]", sec->name);
	s3 = xcalloc(1, sizeof(*s3));
	s3->versioned = -1;
	s3->region = xstrdup(config_get(sec, "region"));
	s3->bucket = xstrdup(config_get(sec, "bucket"));
	v = config_get(sec, "prefix");
	while (*v == '/')
		v++;
	s3->prefix = xstrdup(v);
	for (n = strlen(s3->prefix); n > 0 && s3->prefix[n - 1] == '/'; n--)
		s3->prefix[n - 1] = '\0';
	if ((v = config_get_nonempty(sec, "endpoint")) == NULL)
		v = def = xasprintf("https://s3.%s.amazonaws.com", s3->region);
	r = split_url(v, &s3->scheme, &s3->host);
	free(def);
	if (r == -1) {
		s3_free(s3);
		return errf(err, errlen, "[%s] endpoint: not a URL of a host", sec->name);
	}
	s3->path_style = config_get_bool(sec, "path_style");
	s3->tls_verify = config_get_bool(sec, "tls_verify");
	s3->ca_file = xstrdup_or_null(config_get_nonempty(sec, "ca_file"));
	s3->part_size = config_get_size(sec, "part_size");
	s3->parts_in_flight = (unsigned)config_get_uint(sec, "parts_in_flight");
	s3->max_tries = (unsigned)config_get_uint(sec, "max_tries");
	s3->lock_mode = lock_mode(config_get(sec, "object_lock"));
	s3->storage_class = xstrdup_or_null(config_get_nonempty(sec, "storage_class"));
	v = config_get(sec, "sse");
	s3->sse = strcmp(v, "AES256") == 0 ? "AES256" : strcmp(v, "aws:kms") == 0 ?
	    "aws:kms" : NULL;
	s3->sse_kms_key_id = xstrdup_or_null(config_get_nonempty(sec, "sse_kms_key_id"));
	s3->checksum = strcmp(config_get(sec, "checksum"), "sha256") == 0;
	if (s3_creds_open(sec, s3->region, s3->ca_file, &s3->creds, err, errlen) == -1) {
		s3_free(s3);
		return errprefix(err, errlen, "[%s]", sec->name);
	}
	s3_connect_init(s3);
	st->priv = s3;
	st->object_lock = s3->lock_mode != NULL;
	return 0;
}

static void
s3_close(struct storage *st)
{
	s3_free(st->priv);
	st->priv = NULL;
}

static void
s3_describe(struct storage *st, char *buf, size_t len)
{
	struct s3	*s3 = st->priv;

	snprintf(buf, len, "s3://%s%s%s", s3->bucket, *s3->prefix ? "/" : "",
	    s3->prefix);
}

/* Reads */

static int
s3_get(struct storage *st, const char *key, uint64_t offset, storage_read_fn fn,
    void *arg, int *missing, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	struct s3_xfer	 x;
	int		 r;

	if (missing != NULL)
		*missing = 0;
	s3_xfer_init(&x, s3, "GET", key, s3_object_path(s3, key), NULL);
	x.sink = fn;
	x.sink_arg = arg;
	x.offset = offset;
	r = s3_xfer_run(&x, err, errlen);
	if (r == -1 && x.missing) {
		if (missing != NULL)
			*missing = 1;
		errf(err, errlen, "%s: no such object in s3://%s", key, s3->bucket);
		errno = ENOENT;
	}
	s3_xfer_free(&x);
	return r;
}

static int
s3_head(struct storage *st, const char *key, struct storage_stat *out, int *missing,
    char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	struct s3_xfer	 x;
	curl_off_t	 len = -1;
	time_t		 t;
	int		 r;

	*missing = 0;
	memset(out, 0, sizeof(*out));
	s3_xfer_init(&x, s3, "HEAD", key, s3_object_path(s3, key), NULL);
	if ((r = s3_xfer_run(&x, err, errlen)) == 0) {
		curl_easy_getinfo(x.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		out->size = len > 0 ? (uint64_t)len : 0;
		if (x.last_modified[0] != '\0' &&
		    (t = curl_getdate(x.last_modified, NULL)) != -1)
			out->mtime = t;
		strlcpy(out->stamp, x.etag, sizeof(out->stamp));
		if (x.lock_until[0] != '\0' && s3_xml_time(x.lock_until, &t) == 0)
			out->retain_until = t;
	} else if (x.missing) {
		*missing = 1;
		errf(err, errlen, "%s: no such object in s3://%s", key, s3->bucket);
	}
	s3_xfer_free(&x);
	return r;
}

/* The Date of an answer from the last minute, moved on; else one of a HEAD of the bucket. */
static int
s3_now(struct storage *st, time_t *t, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	struct s3_xfer	 x;
	int		 r = 0;

	if (s3->date_at == 0 || s3_now_ms() - s3->date_at > 60000) {
		s3_xfer_init(&x, s3, "HEAD", "bucket", s3_bucket_path(s3), NULL);
		r = s3_xfer_run(&x, err, errlen);
		s3_xfer_free(&x);
		if (r == -1)
			return errprefix(err, errlen, "reading the store's clock");
		if (s3->date_at == 0)
			return errf(err, errlen, "s3://%s: no Date in the answer", s3->bucket);
	}
	*t = s3->date + (time_t)((s3_now_ms() - s3->date_at) / 1000);
	return 0;
}

struct list_ctx {
	struct s3	*s3;
	storage_list_fn	 fn;
	void		*arg;
};

static int
list_one(const char *key, uint64_t size, time_t mtime, const char *etag, void *arg)
{
	struct list_ctx		*c = arg;
	struct storage_object	 o;

	if ((o.key = s3_listed_key(c->s3, key)) == NULL)
		return 0;
	o.size = size;
	o.mtime = mtime;
	o.stamp = etag;
	return c->fn(&o, c->arg);
}

static int
s3_list(struct storage *st, const char *prefix, const char *start_after,
    storage_list_fn fn, void *arg, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	struct s3_xfer	 x;
	struct s3_query	 q;
	struct list_ctx	 c;
	char		*full, *after = NULL, *token = NULL;
	int		 r;

	full = s3_full_key(s3, prefix);
	if (start_after != NULL)
		after = s3_full_key(s3, start_after);
	c.s3 = s3;
	c.fn = fn;
	c.arg = arg;
	do {
		s3_query_init(&q);
		s3_query_add(&q, "list-type", "2");
		s3_query_add(&q, "prefix", full);
		if (after != NULL)
			s3_query_add(&q, "start-after", after);
		if (token != NULL)
			s3_query_add(&q, "continuation-token", token);
		free(token);
		token = NULL;
		s3_xfer_init(&x, s3, "GET", "bucket", s3_bucket_path(s3), s3_query_string(&q));
		s3_query_free(&q);
		if ((r = s3_xfer_run(&x, err, errlen)) == 0)
			r = s3_xml_list_objects(x.resp.data, x.resp.len, list_one, &c, &token,
			    err, errlen);
		s3_xfer_free(&x);
	} while (r == 0 && token != NULL);
	/* the key as the bucket has it, the location's prefix in front */
	if (r == -1)
		errprefix(err, errlen, "list s3://%s/%s", s3->bucket, full);
	free(token);
	free(full);
	free(after);
	return r;
}

struct pending_ctx {
	struct s3		*s3;
	storage_pending_fn	 fn;
	void			*arg;
};

static int
pending_one(const char *key, const char *id, time_t initiated, void *arg)
{
	struct pending_ctx	*c = arg;
	struct storage_pending	 p;

	if ((p.key = s3_listed_key(c->s3, key)) == NULL)
		return 0;
	p.upload_id = id;
	p.initiated = initiated;
	p.owner = NULL;		/* a multipart upload names no writer */
	return c->fn(&p, c->arg);
}

static int
pending_page(const char *body, size_t len, void *arg, char **next_key, char **next_id,
    char *err, size_t errlen)
{
	return s3_xml_list_uploads(body, len, pending_one, arg, next_key, next_id, err,
	    errlen);
}

static int
s3_list_pending(struct storage *st, const char *prefix, storage_pending_fn fn, void *arg,
    int *unsupported, char *err, size_t errlen)
{
	struct s3		*s3 = st->priv;
	struct pending_ctx	 c;
	char			*full = s3_full_key(s3, prefix);
	int			 r;

	c.s3 = s3;
	c.fn = fn;
	c.arg = arg;
	r = s3_xfer_pages(s3, "uploads", full, "upload-id-marker", pending_page, &c,
	    unsupported, err, errlen);
	free(full);
	if (r == -1)
		return errprefix(err, errlen, "ListMultipartUploads s3://%s", s3->bucket);
	return 0;
}

static int
s3_abort_pending(struct storage *st, const char *key, const char *id, char *err,
    size_t errlen)
{
	struct s3	*s3 = st->priv;

	if (s3_xfer_delete(s3, key, s3_object_path(s3, key), "uploadId", id, 0, err,
	    errlen) == -1)
		return errprefix(err, errlen, "AbortMultipartUpload");
	return 0;
}

const struct storage_desc storage_s3_desc = {
	.type = "s3",
	.keys = s3_keys,
	.validate = s3_validate,
};

const struct storage_ops storage_s3 = {
	.desc = &storage_s3_desc,
	.open = s3_open,
	.close = s3_close,
	.describe = s3_describe,
	.put_begin = s3_put_begin,
	.put_write = s3_put_write,
	.put_commit = s3_put_commit,
	.put_abort = s3_put_abort,
	.get = s3_get,
	.head = s3_head,
	.list = s3_list,
	.remove = s3_remove,
	.now = s3_now,
	.list_pending = s3_list_pending,
	.abort_pending = s3_abort_pending,
	.retain = s3_retain,
	.remove_unless_locked = s3_remove_unless_locked,
	.probe = s3_probe,
};
