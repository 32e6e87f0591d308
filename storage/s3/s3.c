/*
 * s3: the S3 storage backend (AWS, MinIO, Cloudflare R2, Garage, ...).
 *
 * Requests are signed by libcurl itself (CURLOPT_AWS_SIGV4).  libcurl 7.88
 * signs the path, the query and every CURLOPT_HTTPHEADER entry exactly as
 * given, so this file writes them in canonical form (storage/s3_uri.c),
 * always sends x-amz-content-sha256 (hashed here with OpenSSL), never adds a
 * header-removal entry and never lets curl send a chunked upload.
 *
 * Uploads buffer one part: a stream that fits in it is one PUT at commit;
 * a longer one becomes a multipart upload whose parts go out concurrently
 * through a curl multi handle, at most parts_in_flight at a time, so that
 * memory stays at part_size x (parts_in_flight + 1).  Downloads stream to
 * the caller and resume with a Range request after a broken transfer.
 *
 * Every request is retried with exponential backoff and jitter on 5xx, 429,
 * SlowDown, RequestTimeout, connection errors and stalls, up to max_tries.
 * A CompleteMultipartUpload whose answer was lost after S3 had finished is
 * recognised by its retry's NoSuchUpload and a HEAD (upload_verify()).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/s3/s3_etag.h"
#include "storage/s3/s3_uri.h"
#include "storage/s3/s3_xml.h"
#include "storage/storage.h"

#define MIB			(1024ULL * 1024)
#define S3_MIN_PART		(5 * MIB)
#define S3_MAX_PART		(5 * 1024 * MIB)
#define S3_MAX_PARTS		10000
#define S3_MAX_OBJECT		(5ULL * 1024 * 1024 * MIB)
#define S3_MAX_RESPONSE		(64 * MIB)
#define S3_DELETE_BATCH		1000
#define S3_IDLE_MS		10000	/* see part_done() */
#define S3_EMPTY_SHA256		\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	char		*scheme;	/* "https" */
	char		*host;		/* host[:port] of the endpoint */
	char		*region;
	char		*bucket;
	char		*prefix;	/* without leading or trailing '/'; may be "" */
	int		 path_style;
	int		 tls_verify;
	char		*ca_file;
	char		*access_key;
	char		*secret_key;
	char		*sigv4;		/* "aws:amz:REGION:s3" */
	uint64_t	 part_size;
	unsigned	 parts_in_flight;
	unsigned	 max_tries;
	/* The store's clock: the Date of the latest answer, and when (now_ms) it came. */
	time_t		 date;
	uint64_t	 date_at;
};

struct s3_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* One HTTP request and its response, tried as often as needed. */
struct s3_xfer {
	struct s3	*s3;
	const char	*method;	/* GET HEAD PUT POST DELETE */
	const char	*what;		/* for messages: the key or "bucket" */
	char		*path;		/* encoded, starts with '/' */
	char		*query;		/* canonical, "" when none */
	const char	*body;
	size_t		 bodylen;
	size_t		 bodypos;
	char		 sha256[65];
	char		 content_md5[32];
	int		 body_error;	/* an <Error> in a 2xx body fails (Complete) */

	/* get(): bytes from offset + received go to sink */
	storage_read_fn	 sink;
	void		*sink_arg;
	uint64_t	 offset;
	uint64_t	 received;
	uint64_t	 range_start;	/* of the current try; 0: whole object */
	int		 sink_failed;
	char		 sink_err[KB_ERRLEN];

	CURL		*easy;
	struct curl_slist *headers;
	long		 status;
	struct s3_buf	 resp;
	char		 etag[128];
	char		 request_id[128];	/* x-amz-request-id */
	char		 date[64];		/* Date */
	char		 last_modified[64];
	char		 curlerr[CURL_ERROR_SIZE];
	unsigned	 tries;
	int		 missing;	/* 404 NoSuchKey */
	char		 code[64];	/* S3's error code, "" when none */
};

struct s3_part {
	struct s3_xfer	 x;
	char		*buf;
	size_t		 cap;
	int		 busy;
	int		 waiting;	/* failed, to be sent again at retry_at */
	uint64_t	 retry_at;
	unsigned	 partno;
};

struct storage_upload {
	struct s3	*s3;
	char		*key;		/* as given, for messages */
	char		*path;
	char		*upload_id;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	uint64_t	 part_size;
	uint64_t	 size_hint;
	uint64_t	 total;
	unsigned	 nparts;	/* parts handed out so far */
	char		**etags;	/* by part number - 1 */
	struct s3_part	*slots;
	unsigned	 nslots;
	CURLM		*multi;
	uint64_t	 last_step;	/* when curl was last driven (ms) */
	int		 if_absent;
	int		 failed;
	char		 err[KB_ERRLEN];
};

static int	 check_part_size(const char *, char *, size_t);

/*
 * The runner merges the keys of every storage type into one [storage] schema,
 * so "required" is left 0 here and s3_validate() checks bucket and keys.
 */
static const struct config_key s3_keys[] = {
	{ "endpoint", CFG_URL, 0, NULL, "an http:// or https:// URL", 0, 0, NULL },
	{ "region", CFG_STRING, 0, "us-east-1", "a region name", 0, 0, NULL },
	{ "bucket", CFG_STRING, 0, NULL, "a bucket name", 0, 0, NULL },
	{ "prefix", CFG_STRING, 0, "", "a key prefix", 0, 0, NULL },
	{ "path_style", CFG_BOOL, 0, "false", NULL, 0, 0, NULL },
	{ "access_key", CFG_SECRET, 0, NULL, "an access key ID", 0, 0, NULL },
	{ "secret_key", CFG_SECRET, 0, NULL, "a secret access key", 0, 0, NULL },
	{ "tls_verify", CFG_BOOL, 0, "true", NULL, 0, 0, NULL },
	{ "ca_file", CFG_PATH, 0, NULL, "a PEM file of CA certificates", 0, 0, NULL },
	{ "part_size", CFG_SIZE, 0, "16MiB", "a size of 5MiB to 5GiB", 0, 0,
	    check_part_size },
	{ "parts_in_flight", CFG_UINT, 0, "4", "a number of parts", 1, 64, NULL },
	{ "max_tries", CFG_UINT, 0, "5", "a number of tries", 1, 100, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* Helpers */

static int
check_part_size(const char *v, char *err, size_t errlen)
{
	uint64_t	n;

	if (config_parse_size(v, &n) == -1 || n < S3_MIN_PART || n > S3_MAX_PART)
		return errf(err, errlen, "a size of 5MiB to 5GiB");
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Exponential backoff with full jitter: 0.5..1 of min(100ms << n, 20s). */
static uint64_t
backoff_ms(unsigned n)
{
	uint64_t	cap = 100ULL << (n > 8 ? 8 : n);
	uint32_t	r = 0;

	if (cap > 20000)
		cap = 20000;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return cap / 2 + r % (cap / 2 + 1);
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char	md[32];
	unsigned int	mdlen = sizeof(md);

	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), out);
}

static void
md5_base64(const void *buf, size_t len, char out[32])
{
	unsigned char	md[16];
	unsigned int	mdlen = sizeof(md);

	EVP_Digest(buf, len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

static void
buf_append(struct s3_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 8192 : b->cap * 2;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static char *
full_key(struct s3 *s3, const char *key)
{
	if (*s3->prefix == '\0')
		return xstrdup(key);
	return xasprintf("%s/%s", s3->prefix, key);
}

/* Path of an object: /BUCKET/KEY (path style) or /KEY, encoded. */
static char *
object_path(struct s3 *s3, const char *key)
{
	char	*fk, *enc, *p;

	fk = full_key(s3, key);
	enc = s3_uri_encode(fk, 1);
	if (s3->path_style)
		p = xasprintf("/%s/%s", s3->bucket, enc);
	else
		p = xasprintf("/%s", enc);
	free(enc);
	free(fk);
	return p;
}

static char *
bucket_path(struct s3 *s3)
{
	return s3->path_style ? xasprintf("/%s", s3->bucket) : xstrdup("/");
}

static char *
request_url(struct s3 *s3, const char *path, const char *query)
{
	const char	*q = (query != NULL && *query != '\0') ? "?" : "";

	if (s3->path_style)
		return xasprintf("%s://%s%s%s%s", s3->scheme, s3->host, path, q,
		    *q ? query : "");
	return xasprintf("%s://%s.%s%s%s%s", s3->scheme, s3->bucket, s3->host, path, q,
	    *q ? query : "");
}

/* Transfers */

static void
xfer_init(struct s3_xfer *x, struct s3 *s3, const char *method, const char *what,
    char *path, char *query)
{
	memset(x, 0, sizeof(*x));
	x->s3 = s3;
	x->method = method;
	x->what = what;
	x->path = path;
	x->query = query != NULL ? query : xstrdup("");
	strlcpy(x->sha256, S3_EMPTY_SHA256, sizeof(x->sha256));
}

static void
xfer_set_body(struct s3_xfer *x, const void *body, size_t len)
{
	x->body = body;
	x->bodylen = len;
	sha256_hex(body, len, x->sha256);
}

static void
xfer_reset(struct s3_xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	x->status = 0;
	x->resp.len = 0;
	x->etag[0] = '\0';
	x->curlerr[0] = '\0';
	x->bodypos = 0;
	x->missing = 0;
	x->code[0] = '\0';
}

static void
xfer_free(struct s3_xfer *x)
{
	xfer_reset(x);
	free(x->resp.data);
	free(x->path);
	free(x->query);
	x->resp.data = x->path = x->query = NULL;
}

static size_t
xfer_read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct s3_xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (n > x->bodylen - x->bodypos)
		n = x->bodylen - x->bodypos;
	memcpy(dst, x->body + x->bodypos, n);
	x->bodypos += n;
	return n;
}

static int
xfer_seek_cb(void *arg, curl_off_t off, int origin)
{
	struct s3_xfer	*x = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->bodylen)
		return CURL_SEEKFUNC_FAIL;
	x->bodypos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
xfer_write_cb(char *src, size_t size, size_t nmemb, void *arg)
{
	struct s3_xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (x->status == 0)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->sink != NULL && x->status == 200 && x->range_start > 0) {
		errf(x->sink_err, sizeof(x->sink_err), "GET %s: server ignored Range",
		    x->what);
		x->sink_failed = 1;
		return 0;
	}
	if (x->sink != NULL && (x->status == 200 || x->status == 206)) {
		if (x->sink(src, n, x->sink_arg, x->sink_err, sizeof(x->sink_err)) == -1) {
			x->sink_failed = 1;
			return 0;
		}
		x->received += n;
		return n;
	}
	if (x->resp.len + n > S3_MAX_RESPONSE)
		return 0;
	buf_append(&x->resp, src, n);
	return n;
}

static void
header_value(const char *line, size_t n, size_t skip, char *out, size_t outlen)
{
	size_t	i, j;

	for (i = skip; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = n; j > i && (line[j - 1] == '\r' || line[j - 1] == '\n' ||
	    line[j - 1] == ' '); j--)
		;
	if (j - i < outlen) {
		memcpy(out, line + i, j - i);
		out[j - i] = '\0';
	}
}

static size_t
xfer_header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct s3_xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->etag[0] = x->request_id[0] = x->date[0] = x->last_modified[0] = '\0';
		x->status = 0;
	} else if (n > 5 && strncasecmp(line, "etag:", 5) == 0)
		header_value(line, n, 5, x->etag, sizeof(x->etag));
	else if (n > 5 && strncasecmp(line, "date:", 5) == 0)
		header_value(line, n, 5, x->date, sizeof(x->date));
	else if (n > 14 && strncasecmp(line, "last-modified:", 14) == 0)
		header_value(line, n, 14, x->last_modified, sizeof(x->last_modified));
	else if (n > 17 && strncasecmp(line, "x-amz-request-id:", 17) == 0)
		header_value(line, n, 17, x->request_id, sizeof(x->request_id));
	return n;
}

static void
xfer_header(struct s3_xfer *x, const char *fmt, const char *value)
{
	char	*h = xasprintf(fmt, value);

	x->headers = curl_slist_append(x->headers, h);
	free(h);
}

/* A fresh easy handle for the next try of x. */
static void
xfer_setup(struct s3_xfer *x)
{
	struct s3	*s3 = x->s3;
	CURL		*c;
	char		*url, range[64];

	xfer_reset(x);
	x->easy = c = curl_easy_init();
	if (c == NULL) {
		log_error("s3: curl_easy_init failed");
		exit(1);
	}
	url = request_url(s3, x->path, x->query);
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);

	xfer_header(x, "x-amz-content-sha256: %s", x->sha256);
	if (x->content_md5[0] != '\0')
		xfer_header(x, "Content-MD5: %s", x->content_md5);
	if (strcmp(x->method, "POST") == 0)
		xfer_header(x, "Content-Type: %s", "application/xml");
	x->range_start = x->offset + x->received;
	if (x->sink != NULL && x->range_start > 0) {
		snprintf(range, sizeof(range), "%llu-",
		    (unsigned long long)(x->offset + x->received));
		xfer_header(x, "Range: bytes=%s", range);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);

	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s3->access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret_key);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kbackup");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->curlerr);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xfer_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, xfer_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s3->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s3->tls_verify ? 2L : 0L);
	if (s3->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s3->ca_file);

	if (strcmp(x->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, xfer_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, xfer_seek_cb);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->bodylen);
	} else if (strcmp(x->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->bodylen);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body != NULL ? x->body : "");
	} else if (strcmp(x->method, "DELETE") == 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	else if (strcmp(x->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
}

static int
retryable_code(const char *code)
{
	return strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
	    strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0;
}

static int
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return 0;
	default:
		return 1;
	}
}

/*
 * Judges one finished try: 0 done, 1 failed but worth another try, -1 failed.
 * err says what went wrong, with S3's code, message and request id.
 */
/* Keeps the store's clock: the Date header of the latest answer. */
static void
note_date(struct s3 *s3, const char *date)
{
	time_t	t;

	if (*date == '\0' || (t = curl_getdate(date, NULL)) == -1)
		return;
	s3->date = t;
	s3->date_at = now_ms();
}

static int
xfer_check(struct s3_xfer *x, CURLcode rc, char *err, size_t errlen)
{
	struct s3	*s3 = x->s3;
	struct s3_error	 e;
	int		 has_error;

	if (x->sink_failed)
		return errf(err, errlen, "%s", x->sink_err);
	if (rc != CURLE_OK) {
		errf(err, errlen, "%s %s: connection to %s failed: %s%s%s", x->method,
		    x->what, s3->host, curl_easy_strerror(rc), x->curlerr[0] ? ": " : "",
		    x->curlerr);
		return retryable_curl(rc) ? 1 : -1;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	note_date(s3, x->date);
	has_error = s3_xml_error(x->resp.data, x->resp.len, &e);
	if (x->status >= 200 && x->status < 300 && !(x->body_error && has_error))
		return 0;
	if (has_error) {
		errf(err, errlen, "%s %s: %s: %s (request id %s)", x->method, x->what,
		    e.code, e.message, e.request_id[0] ? e.request_id :
		    x->request_id[0] ? x->request_id : "none");
		strlcpy(x->code, e.code, sizeof(x->code));
		if (x->status == 404 && strcmp(e.code, "NoSuchKey") == 0)
			x->missing = 1;
	} else {
		errf(err, errlen, "%s %s: HTTP status %ld from %s", x->method, x->what,
		    x->status, s3->host);
		if (x->status == 404)
			x->missing = 1;
	}
	if (x->status >= 500 || x->status == 429 || (has_error && retryable_code(e.code)))
		return 1;
	return -1;
}

/* Runs x until it succeeds, fails for good, or max_tries is reached. */
static int
xfer_run(struct s3_xfer *x, char *err, size_t errlen)
{
	CURLcode	rc;
	uint64_t	before;
	int		r;

	for (;;) {
		before = x->received;
		xfer_setup(x);
		rc = curl_easy_perform(x->easy);
		if ((r = xfer_check(x, rc, err, errlen)) <= 0)
			return r;
		/* A download that made progress resumes without using up a try. */
		if (x->received == before || x->sink == NULL)
			x->tries++;
		if (x->tries >= x->s3->max_tries)
			return errprefix(err, errlen, "gave up after %u tries", x->tries);
		log_kv(LOGL_WARN, "s3 request failed, retrying", "error", err, NULL);
		sleep_ms(backoff_ms(x->tries));
	}
}

/* storage_ops: open, close, describe */

static const char *
cfg(const struct config_section *sec, const char *key, const char *def)
{
	const char	*v = config_get(sec, key);

	return v != NULL && *v != '\0' ? v : def;
}

static int
cfg_bool(const struct config_section *sec, const char *key, int def, int *out,
    char *err, size_t errlen)
{
	const char	*v = cfg(sec, key, NULL);

	*out = def;
	if (v != NULL && config_parse_bool(v, out) == -1)
		return errf(err, errlen, "%s: expected true or false", key);
	return 0;
}

static int
cfg_uint(const struct config_section *sec, const char *key, unsigned def, unsigned min,
    unsigned max, unsigned *out, char *err, size_t errlen)
{
	const char	*v = cfg(sec, key, NULL), *e = NULL;

	*out = def;
	if (v != NULL)
		*out = (unsigned)strtonum(v, min, max, &e);
	if (e != NULL)
		return errf(err, errlen, "%s: expected %u to %u", key, min, max);
	return 0;
}

static int
parse_endpoint(struct s3 *s3, const char *url, char *err, size_t errlen)
{
	const char	*p, *end;

	if ((p = strstr(url, "://")) == NULL)
		return errf(err, errlen, "endpoint %s: expected http:// or https://", url);
	s3->scheme = xstrndup(url, (size_t)(p - url));
	if (strcmp(s3->scheme, "http") != 0 && strcmp(s3->scheme, "https") != 0)
		return errf(err, errlen, "endpoint %s: expected http:// or https://", url);
	p += 3;
	end = p + strcspn(p, "/?#");
	if (end == p)
		return errf(err, errlen, "endpoint %s: no host", url);
	if (*end != '\0' && strcmp(end, "/") != 0)
		return errf(err, errlen, "endpoint %s: a path is not supported", url);
	s3->host = xstrndup(p, (size_t)(end - p));
	return 0;
}

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
	free(s3->sigv4);
	if (s3->access_key != NULL)
		freezero(s3->access_key, strlen(s3->access_key));
	if (s3->secret_key != NULL)
		freezero(s3->secret_key, strlen(s3->secret_key));
	freezero(s3, sizeof(*s3));
}

static int
s3_validate(const struct config_section_schema *schema, const struct config_section *sec,
    char *err, size_t errlen)
{
	const char	*v;
	int		 b;
	unsigned	 u;

	if (cfg(sec, "bucket", NULL) == NULL)
		return errf(err, errlen, "bucket: required for type = s3");
	if (cfg(sec, "access_key", NULL) == NULL || cfg(sec, "secret_key", NULL) == NULL)
		return errf(err, errlen, "access_key and secret_key: both required for "
		    "type = s3");
	if ((v = cfg(sec, "part_size", NULL)) != NULL && check_part_size(v, err, errlen) == -1)
		return errprefix(err, errlen, "part_size");
	if (cfg_bool(sec, "path_style", 0, &b, err, errlen) == -1 ||
	    cfg_bool(sec, "tls_verify", 1, &b, err, errlen) == -1 ||
	    cfg_uint(sec, "parts_in_flight", 4, 1, 64, &u, err, errlen) == -1 ||
	    cfg_uint(sec, "max_tries", 5, 1, 100, &u, err, errlen) == -1)
		return -1;
	return 0;
}

static int
s3_open(struct storage *st, const struct config_section *sec, char *err, size_t errlen)
{
	struct s3	*s3;
	const char	*v;
	char		*def = NULL;
	size_t		 n;

	if (s3_validate(NULL, sec, err, errlen) == -1)	/* the config reader did it too */
		return errprefix(err, errlen, "[%s]", sec->name);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s3 = xcalloc(1, sizeof(*s3));
	s3->region = xstrdup(cfg(sec, "region", "us-east-1"));
	s3->bucket = xstrdup(cfg(sec, "bucket", ""));
	v = cfg(sec, "prefix", "");
	while (*v == '/')
		v++;
	s3->prefix = xstrdup(v);
	for (n = strlen(s3->prefix); n > 0 && s3->prefix[n - 1] == '/'; n--)
		s3->prefix[n - 1] = '\0';
	if ((v = cfg(sec, "endpoint", NULL)) == NULL)
		v = def = xasprintf("https://s3.%s.amazonaws.com", s3->region);
	if (parse_endpoint(s3, v, err, errlen) == -1) {
		free(def);
		s3_free(s3);
		return errprefix(err, errlen, "[%s]", sec->name);
	}
	free(def);
	cfg_bool(sec, "path_style", 0, &s3->path_style, err, errlen);
	cfg_bool(sec, "tls_verify", 1, &s3->tls_verify, err, errlen);
	if ((v = cfg(sec, "ca_file", NULL)) != NULL)
		s3->ca_file = xstrdup(v);
	s3->access_key = xstrdup(cfg(sec, "access_key", ""));
	s3->secret_key = xstrdup(cfg(sec, "secret_key", ""));
	s3->sigv4 = xasprintf("aws:amz:%s:s3", s3->region);
	s3->part_size = 16 * MIB;
	if ((v = cfg(sec, "part_size", NULL)) != NULL)
		config_parse_size(v, &s3->part_size);
	cfg_uint(sec, "parts_in_flight", 4, 1, 64, &s3->parts_in_flight, err, errlen);
	cfg_uint(sec, "max_tries", 5, 1, 100, &s3->max_tries, err, errlen);
	st->priv = s3;
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

/* Uploads */

static uint64_t
pick_part_size(struct s3 *s3, uint64_t hint)
{
	uint64_t	ps = s3->part_size, need;

	if (hint > S3_MAX_OBJECT)
		hint = S3_MAX_OBJECT;
	need = (hint + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
	need = (need + MIB - 1) / MIB * MIB;
	return need > ps ? need : ps;
}

static int
s3_put_begin(struct storage *st, const char *key, const struct storage_put *put,
    struct storage_upload **up, char *err, size_t errlen)
{
	struct s3		*s3 = st->priv;
	struct storage_upload	*u;

	if (put->retain_until != 0)
		return errf(err, errlen, "%s: object lock is not supported yet", key);
	u = xcalloc(1, sizeof(*u));
	u->s3 = s3;
	u->key = xstrdup(key);
	u->path = object_path(s3, key);
	u->size_hint = put->size_hint;
	u->if_absent = put->if_absent;
	u->part_size = pick_part_size(s3, put->size_hint);
	u->nslots = s3->parts_in_flight;
	*up = u;
	return 0;
}

static int
upload_create(struct storage_upload *u, char *err, size_t errlen)
{
	struct s3_xfer	x;
	struct s3_query	q;
	int		r;

	s3_query_init(&q);
	s3_query_add(&q, "uploads", NULL);
	xfer_init(&x, u->s3, "POST", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	if ((r = xfer_run(&x, err, errlen)) == 0)
		r = s3_xml_upload_id(x.resp.data, x.resp.len, &u->upload_id, err, errlen);
	xfer_free(&x);
	if (r == -1)
		return errprefix(err, errlen, "CreateMultipartUpload");
	u->multi = curl_multi_init();
	u->slots = xcalloc(u->nslots, sizeof(*u->slots));
	return 0;
}

static void
part_start(struct storage_upload *u, struct s3_part *p)
{
	xfer_setup(&p->x);
	curl_multi_add_handle(u->multi, p->x.easy);
	p->waiting = 0;
}

/*
 * Parts progress only while the caller is inside put_write or put_commit: a
 * producer silent for long (a dump waiting on a lock) can make a part time
 * out.  A retryable failure after such a pause (idle) costs no try.
 */
static void
part_done(struct storage_upload *u, struct s3_part *p, CURLcode rc, int idle)
{
	char	err[KB_ERRLEN];
	int	r;

	curl_multi_remove_handle(u->multi, p->x.easy);
	r = xfer_check(&p->x, rc, err, sizeof(err));
	if (r == 0 && p->x.etag[0] == '\0') {
		errf(err, sizeof(err), "PUT %s part %u: no ETag in response", u->key,
		    p->partno);
		r = -1;
	}
	if (r == 0) {
		u->etags[p->partno - 1] = xstrdup(p->x.etag);
		xfer_free(&p->x);
		p->busy = 0;
		return;
	}
	if (r == 1 && !idle)
		p->x.tries++;
	if (r == 1 && p->x.tries < u->s3->max_tries) {
		log_kv(LOGL_WARN, "s3 part upload failed, retrying", "error", err, NULL);
		xfer_reset(&p->x);
		p->waiting = 1;
		p->retry_at = now_ms() + backoff_ms(p->x.tries);
		return;
	}
	if (r == 1)
		errprefix(err, sizeof(err), "gave up after %u tries", p->x.tries);
	if (!u->failed) {
		u->failed = 1;
		strlcpy(u->err, err, sizeof(u->err));
	}
	xfer_free(&p->x);
	p->busy = 0;
}

static unsigned
busy_slots(struct storage_upload *u)
{
	unsigned	i, n = 0;

	for (i = 0; i < u->nslots; i++)
		n += u->slots[i].busy;
	return n;
}

/*
 * One round without blocking: restarts parts whose retry time has come,
 * lets curl send what the sockets take, and collects finished parts.
 * Returns how long the next poll may wait (ms).
 */
static int
upload_step(struct storage_upload *u)
{
	struct s3_part	*p;
	CURLMsg		*m;
	uint64_t	 now = now_ms(), wait = 1000;
	unsigned	 i;
	int		 running, left, idle;
	void		*priv;

	idle = u->last_step != 0 && now - u->last_step > S3_IDLE_MS;
	u->last_step = now;

	for (i = 0; i < u->nslots; i++) {
		p = &u->slots[i];
		if (!p->busy || !p->waiting)
			continue;
		if (p->retry_at <= now)
			part_start(u, p);
		else if (p->retry_at - now < wait)
			wait = p->retry_at - now;
	}
	curl_multi_perform(u->multi, &running);
	while ((m = curl_multi_info_read(u->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		/* x is the first member of its part */
		part_done(u, (struct s3_part *)priv, m->data.result, idle);
	}
	return (int)wait;
}

/* Drives the transfers until a slot is free (all_done: until none is busy). */
static int
upload_drive(struct storage_upload *u, int all_done, char *err, size_t errlen)
{
	unsigned	limit = all_done ? 0 : u->nslots - 1;
	int		wait;

	while (!u->failed && busy_slots(u) > limit) {
		wait = upload_step(u);
		if (!u->failed && busy_slots(u) > limit)
			curl_multi_poll(u->multi, NULL, 0, wait, NULL);
	}
	if (u->failed)
		return errf(err, errlen, "%s", u->err);
	return 0;
}

/* Hands the filled buffer to a free slot and starts its UploadPart. */
static int
upload_submit(struct storage_upload *u, char *err, size_t errlen)
{
	struct s3_part	*p = NULL;
	struct s3_query	 q;
	char		 num[16], *tmp;
	unsigned	 i;
	size_t		 cap;

	if (u->upload_id == NULL && upload_create(u, err, errlen) == -1)
		return -1;
	if (u->nparts >= S3_MAX_PARTS)
		return errf(err, errlen, "PUT %s: more than %d parts", u->key, S3_MAX_PARTS);
	if (upload_drive(u, 0, err, errlen) == -1)
		return -1;
	for (i = 0; i < u->nslots; i++)
		if (!u->slots[i].busy) {
			p = &u->slots[i];
			break;
		}
	/* Swap buffers: the slot sends the filled one, the upload fills the slot's. */
	tmp = p->buf;
	cap = p->cap;
	p->buf = u->buf;
	p->cap = u->cap;
	u->buf = tmp;
	u->cap = cap;

	p->partno = ++u->nparts;
	u->etags = xreallocarray(u->etags, u->nparts, sizeof(*u->etags));
	u->etags[p->partno - 1] = NULL;
	s3_query_init(&q);
	snprintf(num, sizeof(num), "%u", p->partno);
	s3_query_add(&q, "partNumber", num);
	s3_query_add(&q, "uploadId", u->upload_id);
	xfer_init(&p->x, u->s3, "PUT", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	xfer_set_body(&p->x, p->buf, u->len);
	u->len = 0;
	p->busy = 1;
	part_start(u, p);
	/* Unknown or exceeded size: larger parts as the count grows. */
	if (u->nparts % 1000 == 0 && (u->size_hint == 0 || u->total >= u->size_hint) &&
	    u->part_size * 2 <= S3_MAX_PART)
		u->part_size *= 2;
	return 0;
}

static int
s3_put_write(struct storage_upload *u, const void *data, size_t len, char *err,
    size_t errlen)
{
	const char	*p = data;
	size_t		 n;

	/* Parts in flight progress while the caller produces the next one. */
	if (u->multi != NULL && busy_slots(u) > 0)
		upload_step(u);
	if (u->failed)
		return errf(err, errlen, "%s", u->err);
	while (len > 0) {
		if (u->len == u->part_size && upload_submit(u, err, errlen) == -1)
			return -1;
		if (u->cap < u->part_size && u->len == u->cap) {
			u->cap = u->cap == 0 ? 64 * 1024 : u->cap * 2;
			if (u->cap > u->part_size)
				u->cap = u->part_size;
			u->buf = xreallocarray(u->buf, u->cap, 1);
		}
		n = (u->cap < u->part_size ? u->cap : u->part_size) - u->len;
		if (n > len)
			n = len;
		memcpy(u->buf + u->len, p, n);
		u->len += n;
		u->total += n;
		p += n;
		len -= n;
	}
	return 0;
}

static void
upload_free(struct storage_upload *u)
{
	unsigned	i;

	for (i = 0; u->slots != NULL && i < u->nslots; i++) {
		if (u->slots[i].x.easy != NULL && u->multi != NULL)
			curl_multi_remove_handle(u->multi, u->slots[i].x.easy);
		xfer_free(&u->slots[i].x);
		free(u->slots[i].buf);
	}
	free(u->slots);
	if (u->multi != NULL)
		curl_multi_cleanup(u->multi);
	for (i = 0; i < u->nparts; i++)
		free(u->etags[i]);
	free(u->etags);
	free(u->buf);
	free(u->upload_id);
	free(u->path);
	free(u->key);
	free(u);
}

static int
upload_abort_remote(struct storage_upload *u, char *err, size_t errlen)
{
	struct s3_xfer	x;
	struct s3_query	q;
	int		r;

	s3_query_init(&q);
	s3_query_add(&q, "uploadId", u->upload_id);
	xfer_init(&x, u->s3, "DELETE", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	r = xfer_run(&x, err, errlen);
	if (r == -1 && x.status == 404)
		r = 0;
	xfer_free(&x);
	return r;
}

static int
upload_single(struct storage_upload *u, char *err, size_t errlen)
{
	struct s3_xfer	x;
	int		r;

	xfer_init(&x, u->s3, "PUT", u->key, xstrdup(u->path), NULL);
	xfer_set_body(&x, u->buf != NULL ? u->buf : "", u->len);
	r = xfer_run(&x, err, errlen);
	xfer_free(&x);
	return r;
}

/*
 * A retried Complete that finds no upload (NoSuchUpload) may follow a try
 * that S3 finished but whose answer was lost.  The object is taken for ours
 * only if HEAD shows exactly what was uploaded: the multipart ETag computed
 * from the parts' ETags, and the byte count.  An object with an ETag of
 * another form (s3rver's whole-object MD5) cannot be told from another one
 * of the same size, so it fails the upload as before.  cerr: the Complete's
 * error, kept in err when the object is not ours.
 */
static int
upload_verify(struct storage_upload *u, const char *cerr, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	char		 want[S3_ETAG_LEN], herr[KB_ERRLEN];
	curl_off_t	 len = -1;
	int		 r;

	if (s3_etag_multipart((const char *const *)u->etags, u->nparts, want,
	    sizeof(want)) == -1)
		return errf(err, errlen, "%s; the object cannot be checked: a part's "
		    "ETag is not an MD5", cerr);
	xfer_init(&x, u->s3, "HEAD", u->key, xstrdup(u->path), NULL);
	if ((r = xfer_run(&x, herr, sizeof(herr))) == -1)
		errf(err, errlen, "%s; looking for the object: %s", cerr, herr);
	else {
		curl_easy_getinfo(x.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		if (!s3_etag_same(x.etag, want) || len != (curl_off_t)u->total)
			r = errf(err, errlen, "%s; the object there is not the one uploaded: "
			    "ETag %s and %lld bytes, not %s and %llu bytes", cerr,
			    x.etag[0] ? x.etag : "none", (long long)len, want,
			    (unsigned long long)u->total);
	}
	if (r == 0)
		log_kv(LOGL_WARN, "s3: the answer to CompleteMultipartUpload was lost; "
		    "the object was verified by HEAD", "key", u->key, "etag", x.etag, NULL);
	xfer_free(&x);
	return r;
}

static int
upload_complete(struct storage_upload *u, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	struct s3_query	 q;
	char		*body = NULL, num[16], cerr[KB_ERRLEN];
	size_t		 len = 0, cap = 0;
	unsigned	 i;
	int		 r;

	s3_xml_append(&body, &len, &cap, "<CompleteMultipartUpload>");
	for (i = 0; i < u->nparts; i++) {
		snprintf(num, sizeof(num), "%u", i + 1);
		s3_xml_append(&body, &len, &cap, "<Part><PartNumber>");
		s3_xml_append(&body, &len, &cap, num);
		s3_xml_append(&body, &len, &cap, "</PartNumber><ETag>");
		s3_xml_escape(&body, &len, &cap, u->etags[i]);
		s3_xml_append(&body, &len, &cap, "</ETag></Part>");
	}
	s3_xml_append(&body, &len, &cap, "</CompleteMultipartUpload>");
	s3_query_init(&q);
	s3_query_add(&q, "uploadId", u->upload_id);
	xfer_init(&x, u->s3, "POST", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	xfer_set_body(&x, body, len);
	x.body_error = 1;
	r = xfer_run(&x, err, errlen);
	if (r == -1 && x.tries > 0 && x.status == 404 &&
	    strcmp(x.code, "NoSuchUpload") == 0) {
		strlcpy(cerr, err, sizeof(cerr));
		r = upload_verify(u, cerr, err, errlen);
	}
	xfer_free(&x);
	free(body);
	if (r == -1)
		errprefix(err, errlen, "CompleteMultipartUpload");
	return r;
}

/*
 * if_absent: S3 without conditional writes would replace the object, so a
 * HEAD just before the final request checks that the key is free.
 */
static int
upload_check_absent(struct storage_upload *u, int *exists, char *err, size_t errlen)
{
	struct s3_xfer	x;
	int		r;

	if (!u->if_absent)
		return 0;
	xfer_init(&x, u->s3, "HEAD", u->key, xstrdup(u->path), NULL);
	r = xfer_run(&x, err, errlen);
	if (r == -1 && x.missing)
		r = 1;
	xfer_free(&x);
	if (r == -1)
		return errprefix(err, errlen, "checking that %s is free", u->key);
	if (r == 0) {
		if (exists != NULL)
			*exists = 1;
		return errf(err, errlen, "create %s: it exists already (never replaced)",
		    u->key);
	}
	return 0;
}

static int
s3_put_commit(struct storage_upload *u, int *exists, char *err, size_t errlen)
{
	char	aerr[KB_ERRLEN];
	int	r;

	if (exists != NULL)
		*exists = 0;
	if (u->failed)
		r = errf(err, errlen, "%s", u->err);
	else if (upload_check_absent(u, exists, err, errlen) == -1)
		r = -1;
	else if (u->upload_id == NULL)
		r = upload_single(u, err, errlen);
	else if ((u->len > 0 && upload_submit(u, err, errlen) == -1) ||
	    upload_drive(u, 1, err, errlen) == -1)
		r = -1;
	else
		r = upload_complete(u, err, errlen);
	if (r == -1 && u->upload_id != NULL &&
	    upload_abort_remote(u, aerr, sizeof(aerr)) == -1)
		log_kv(LOGL_WARN, "s3: could not abort multipart upload", "key", u->key,
		    "error", aerr, NULL);
	upload_free(u);
	return r;
}

static void
s3_put_abort(struct storage_upload *u)
{
	char	err[KB_ERRLEN];

	if (u->upload_id != NULL && upload_abort_remote(u, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "s3: could not abort multipart upload", "key", u->key,
		    "error", err, NULL);
	upload_free(u);
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
	xfer_init(&x, s3, "GET", key, object_path(s3, key), NULL);
	x.sink = fn;
	x.sink_arg = arg;
	x.offset = offset;
	r = xfer_run(&x, err, errlen);
	if (r == -1 && x.missing) {
		if (missing != NULL)
			*missing = 1;
		errf(err, errlen, "%s: no such object in s3://%s", key, s3->bucket);
		errno = ENOENT;
	}
	xfer_free(&x);
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
	xfer_init(&x, s3, "HEAD", key, object_path(s3, key), NULL);
	if ((r = xfer_run(&x, err, errlen)) == 0) {
		curl_easy_getinfo(x.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		out->size = len > 0 ? (uint64_t)len : 0;
		if (x.last_modified[0] != '\0' &&
		    (t = curl_getdate(x.last_modified, NULL)) != -1)
			out->mtime = t;
		strlcpy(out->stamp, x.etag, sizeof(out->stamp));
	} else if (x.missing) {
		*missing = 1;
		errf(err, errlen, "%s: no such object in s3://%s", key, s3->bucket);
	}
	xfer_free(&x);
	return r;
}

/* The Date of an answer from the last minute, moved on; else one of a HEAD of the bucket. */
static int
s3_now(struct storage *st, time_t *t, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	struct s3_xfer	 x;
	int		 r = 0;

	if (s3->date_at == 0 || now_ms() - s3->date_at > 60000) {
		xfer_init(&x, s3, "HEAD", "bucket", bucket_path(s3), NULL);
		r = xfer_run(&x, err, errlen);
		xfer_free(&x);
		if (r == -1)
			return errprefix(err, errlen, "reading the store's clock");
		if (s3->date_at == 0)
			return errf(err, errlen, "s3://%s: no Date in the answer", s3->bucket);
	}
	*t = s3->date + (time_t)((now_ms() - s3->date_at) / 1000);
	return 0;
}

struct list_ctx {
	struct s3	*s3;
	size_t		 strip;
	storage_list_fn	 fn;
	void		*arg;
};

static int
list_one(const char *key, uint64_t size, time_t mtime, const char *etag, void *arg)
{
	struct list_ctx		*c = arg;
	struct storage_object	 o;

	if (strlen(key) < c->strip)
		return 0;
	o.key = key + c->strip;
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

	full = full_key(s3, prefix);
	if (start_after != NULL)
		after = full_key(s3, start_after);
	c.s3 = s3;
	c.strip = *s3->prefix ? strlen(s3->prefix) + 1 : 0;
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
		xfer_init(&x, s3, "GET", "bucket", bucket_path(s3), s3_query_string(&q));
		s3_query_free(&q);
		if ((r = xfer_run(&x, err, errlen)) == 0)
			r = s3_xml_list_objects(x.resp.data, x.resp.len, list_one, &c, &token,
			    err, errlen);
		xfer_free(&x);
	} while (r == 0 && token != NULL);
	free(token);
	free(full);
	free(after);
	if (r == -1)
		return errprefix(err, errlen, "list s3://%s/%s", s3->bucket, prefix);
	return 0;
}

static int
delete_batch(struct s3 *s3, const char *const *keys, size_t n, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	struct s3_query	 q;
	char		*body = NULL, *fk;
	size_t		 len = 0, cap = 0, i;
	int		 r;

	s3_xml_append(&body, &len, &cap, "<Delete><Quiet>true</Quiet>");
	for (i = 0; i < n; i++) {
		fk = full_key(s3, keys[i]);
		s3_xml_append(&body, &len, &cap, "<Object><Key>");
		s3_xml_escape(&body, &len, &cap, fk);
		s3_xml_append(&body, &len, &cap, "</Key></Object>");
		free(fk);
	}
	s3_xml_append(&body, &len, &cap, "</Delete>");
	s3_query_init(&q);
	s3_query_add(&q, "delete", NULL);
	xfer_init(&x, s3, "POST", "bucket", bucket_path(s3), s3_query_string(&q));
	s3_query_free(&q);
	xfer_set_body(&x, body, len);
	md5_base64(body, len, x.content_md5);
	if ((r = xfer_run(&x, err, errlen)) == 0)
		r = s3_xml_delete_result(x.resp.data, x.resp.len, err, errlen);
	xfer_free(&x);
	free(body);
	return r;
}

static int
s3_remove(struct storage *st, const char *const *keys, size_t n, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	size_t		 i, k;

	for (i = 0; i < n; i += k) {
		k = n - i > S3_DELETE_BATCH ? S3_DELETE_BATCH : n - i;
		if (delete_batch(s3, keys + i, k, err, errlen) == -1)
			return errprefix(err, errlen, "DeleteObjects s3://%s", s3->bucket);
	}
	return 0;
}

struct pending_ctx {
	size_t			 strip;
	storage_pending_fn	 fn;
	void			*arg;
};

static int
pending_one(const char *key, const char *id, time_t initiated, void *arg)
{
	struct pending_ctx	*c = arg;
	struct storage_pending	 p;

	if (strlen(key) < c->strip)
		return 0;
	p.key = key + c->strip;
	p.upload_id = id;
	p.initiated = initiated;
	return c->fn(&p, c->arg);
}

static int
s3_list_pending(struct storage *st, const char *prefix, storage_pending_fn fn, void *arg,
    int *unsupported, char *err, size_t errlen)
{
	struct s3		*s3 = st->priv;
	struct s3_xfer		 x;
	struct s3_query		 q;
	struct pending_ctx	 c;
	char			*full, *nkey = NULL, *nid = NULL;
	int			 r;

	*unsupported = 0;
	c.strip = *s3->prefix ? strlen(s3->prefix) + 1 : 0;
	c.fn = fn;
	c.arg = arg;
	full = full_key(s3, prefix);
	do {
		s3_query_init(&q);
		s3_query_add(&q, "uploads", NULL);
		s3_query_add(&q, "prefix", full);
		if (nkey != NULL)
			s3_query_add(&q, "key-marker", nkey);
		if (nid != NULL)
			s3_query_add(&q, "upload-id-marker", nid);
		free(nkey);
		free(nid);
		nkey = nid = NULL;
		xfer_init(&x, s3, "GET", "bucket", bucket_path(s3), s3_query_string(&q));
		s3_query_free(&q);
		if ((r = xfer_run(&x, err, errlen)) == 0)
			r = s3_xml_list_uploads(x.resp.data, x.resp.len, pending_one, &c, &nkey,
			    &nid, err, errlen);
		else if (x.status == 501 || strcmp(x.code, "NotImplemented") == 0)
			*unsupported = 1;
		xfer_free(&x);
	} while (r == 0 && nkey != NULL);
	free(nkey);
	free(nid);
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
	struct s3_xfer	 x;
	struct s3_query	 q;
	int		 r;

	s3_query_init(&q);
	s3_query_add(&q, "uploadId", id);
	xfer_init(&x, s3, "DELETE", key, object_path(s3, key), s3_query_string(&q));
	s3_query_free(&q);
	r = xfer_run(&x, err, errlen);
	if (r == -1 && x.status == 404)
		r = 0;
	xfer_free(&x);
	if (r == -1)
		return errprefix(err, errlen, "AbortMultipartUpload");
	return 0;
}

const struct storage_ops storage_s3 = {
	.type = "s3",
	.keys = s3_keys,
	.validate = s3_validate,
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
};
