/*
 * s3_xfer: building, signing, running and judging one S3 request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/s3/s3_sign.h"
#include "storage/s3/s3_uri.h"
#include "storage/s3/s3_xfer.h"
#include "storage/s3/s3_xml.h"

#define S3_MAX_RESPONSE		(64 * 1024 * 1024)
#define S3_MAX_AGAIN		2	/* free tries after ExpiredToken or a skewed clock */
#define S3_SKEW_MAX		900	/* seconds off the store's clock S3 accepts */

/* Keys and paths */

char *
s3_full_key(struct s3 *s3, const char *key)
{
	if (*s3->prefix == '\0')
		return xstrdup(key);
	return xasprintf("%s/%s", s3->prefix, key);
}

const char *
s3_listed_key(struct s3 *s3, const char *full)
{
	size_t	strip = *s3->prefix != '\0' ? strlen(s3->prefix) + 1 : 0;

	return strlen(full) < strip ? NULL : full + strip;
}

char *
s3_object_path(struct s3 *s3, const char *key)
{
	char	*fk, *enc, *p;

	fk = s3_full_key(s3, key);
	enc = s3_uri_encode(fk, 1);
	if (s3->path_style)
		p = xasprintf("/%s/%s", s3->bucket, enc);
	else
		p = xasprintf("/%s", enc);
	free(enc);
	free(fk);
	return p;
}

char *
s3_bucket_path(struct s3 *s3)
{
	return s3->path_style ? xasprintf("/%s", s3->bucket) : xstrdup("/");
}

static char *
request_host(struct s3 *s3)
{
	if (s3->path_style)
		return xstrdup(s3->host);
	return xasprintf("%s.%s", s3->bucket, s3->host);
}

/* Exponential backoff with full jitter: 0.5..1 of min(100ms << n, 20s). */
uint64_t
s3_backoff_ms(unsigned n)
{
	uint64_t	cap = 100ULL << (n > 8 ? 8 : n);
	uint32_t	r = 0;

	if (cap > 20000)
		cap = 20000;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return cap / 2 + r % (cap / 2 + 1);
}

/* Building */

void
s3_xfer_init(struct s3_xfer *x, struct s3 *s3, const char *method, const char *what,
    char *path, char *query)
{
	memset(x, 0, sizeof(*x));
	x->s3 = s3;
	x->method = method;
	x->what = what;
	x->path = path;
	x->query = query != NULL ? query : xstrdup("");
	s3_xfer_body(x, NULL, 0);
}

void
s3_xfer_body(struct s3_xfer *x, const void *body, size_t len)
{
	unsigned int	mdlen = sizeof(x->sha256_bin);

	x->body = body;
	x->bodylen = len;
	EVP_Digest(body != NULL ? body : "", len, x->sha256_bin, &mdlen, EVP_sha256(), NULL);
	hex_encode(x->sha256_bin, sizeof(x->sha256_bin), x->sha256);
}

void
s3_xfer_header(struct s3_xfer *x, const char *name, const char *value)
{
	if (x->nhdr == S3_XFER_HEADERS) {
		log_error("s3: more than %d extra headers", S3_XFER_HEADERS);
		abort();
	}
	x->hdr[x->nhdr].name = xstrdup(name);
	x->hdr[x->nhdr].value = xstrdup(value);
	x->nhdr++;
}

static void
base64(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

void
s3_xfer_sha256_b64(const struct s3_xfer *x, char out[48])
{
	base64(x->sha256_bin, sizeof(x->sha256_bin), out);
}

void
s3_xfer_checksum(struct s3_xfer *x)
{
	char	b64[48];

	if (!x->s3->checksum)
		return;
	s3_xfer_sha256_b64(x, b64);
	s3_xfer_header(x, "x-amz-checksum-sha256", b64);
}

void
s3_xfer_md5(struct s3_xfer *x)
{
	unsigned char	md[16];
	unsigned int	mdlen = sizeof(md);
	char		b64[32];

	EVP_Digest(x->body != NULL ? x->body : "", x->bodylen, md, &mdlen, EVP_md5(), NULL);
	base64(md, sizeof(md), b64);
	s3_xfer_header(x, "content-md5", b64);
}

void
s3_xfer_reset(struct s3_xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
	s3_slist_free(x->headers);
	x->headers = NULL;
	x->status = 0;
	x->resp.len = 0;
	x->etag[0] = x->version_id[0] = x->lock_until[0] = x->checksum[0] = '\0';
	x->lock_mode[0] = '\0';
	x->curlerr[0] = '\0';
	x->bodypos = 0;
	x->skip = 0;
	x->body_seen = 0;
	x->missing = 0;
	x->code[0] = '\0';
}

void
s3_xfer_free(struct s3_xfer *x)
{
	size_t	i;

	s3_xfer_reset(x);
	s3_buf_free(&x->resp);
	for (i = 0; i < x->nhdr; i++) {
		free(x->hdr[i].name);
		free(x->hdr[i].value);
	}
	x->nhdr = 0;
	free(x->path);
	free(x->query);
	x->path = x->query = NULL;
}

/* curl callbacks */

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
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
seek_cb(void *arg, curl_off_t off, int origin)
{
	struct s3_xfer	*x = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->bodylen)
		return CURL_SEEKFUNC_FAIL;
	x->bodypos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/*
 * A store that ignores Range answers 200 with the whole object: the bytes
 * already received are dropped, and the rest goes on as if it had obeyed.
 */
static size_t
sink_body(struct s3_xfer *x, const char *src, size_t n)
{
	size_t	drop = 0;

	if (!x->body_seen) {
		x->body_seen = 1;
		if (x->status == 200 && x->range_start > 0) {
			log_kv(LOGL_WARN, "s3: the store ignored Range; reading the object "
			    "from its start again", "key", x->what, NULL);
			x->skip = x->range_start;
		}
	}
	if (x->skip > 0) {
		drop = n < x->skip ? n : (size_t)x->skip;
		x->skip -= drop;
		if (drop == n)
			return n;
	}
	if (x->sink(src + drop, n - drop, x->sink_arg, x->sink_err,
	    sizeof(x->sink_err)) == -1) {
		x->sink_failed = 1;
		return 0;
	}
	x->received += n - drop;
	return n;
}

static size_t
write_cb(char *src, size_t size, size_t nmemb, void *arg)
{
	struct s3_xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (x->status == 0)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->sink != NULL && (x->status == 200 || x->status == 206))
		return sink_body(x, src, n);
	if (s3_buf_append(&x->resp, src, n, S3_MAX_RESPONSE) == -1)
		return 0;
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

/* Copies the value of header name (with its colon) into out, if line is that header. */
static int
header_is(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t	len = strlen(name);

	if (n <= len || strncasecmp(line, name, len) != 0)
		return 0;
	header_value(line, n, len, out, outlen);
	return 1;
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct s3_xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->etag[0] = x->request_id[0] = x->date[0] = x->last_modified[0] = '\0';
		x->version_id[0] = x->lock_until[0] = x->checksum[0] = '\0';
		x->lock_mode[0] = '\0';
		x->status = 0;
	} else if (header_is(line, n, "etag:", x->etag, sizeof(x->etag)) ||
	    header_is(line, n, "date:", x->date, sizeof(x->date)) ||
	    header_is(line, n, "last-modified:", x->last_modified, sizeof(x->last_modified)) ||
	    header_is(line, n, "x-amz-request-id:", x->request_id, sizeof(x->request_id)) ||
	    header_is(line, n, "x-amz-version-id:", x->version_id, sizeof(x->version_id)) ||
	    header_is(line, n, "x-amz-object-lock-retain-until-date:", x->lock_until,
	    sizeof(x->lock_until)) ||
	    header_is(line, n, "x-amz-object-lock-mode:", x->lock_mode, sizeof(x->lock_mode)))
		;
	else
		header_is(line, n, "x-amz-checksum-sha256:", x->checksum, sizeof(x->checksum));
	return n;
}

/* Signing */

static void
add_header(struct s3_xfer *x, struct s3_header *h, size_t *n, const char *name,
    const char *value)
{
	char	*line = xasprintf("%s: %s", name, value);

	h[*n].name = name;
	h[*n].value = value;
	(*n)++;
	x->headers = curl_slist_append(x->headers, line);
	freezero(line, strlen(line));
}

/* The headers of this try, and its Authorization. */
static int
sign_headers(struct s3_xfer *x, char *err, size_t errlen)
{
	struct s3		*s3 = x->s3;
	const struct s3_cred	*c;
	struct s3_header	 h[S3_XFER_HEADERS + 6];
	struct s3_sign_req	 r;
	struct tm		 tm;
	time_t			 now = time(NULL) + s3->skew;
	char			 amz_date[17], range[48], *host, *auth, *line;
	size_t			 n = 0, i;

	if (s3_creds_get(s3->creds, &c, err, errlen) == -1)
		return -1;
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	host = request_host(s3);
	add_header(x, h, &n, "host", host);
	add_header(x, h, &n, "x-amz-date", amz_date);
	add_header(x, h, &n, "x-amz-content-sha256", x->sha256);
	if (c->token != NULL)
		add_header(x, h, &n, "x-amz-security-token", c->token);
	for (i = 0; i < x->nhdr; i++)
		add_header(x, h, &n, x->hdr[i].name, x->hdr[i].value);
	x->range_start = x->offset + x->received;
	if (x->sink != NULL && x->range_start > 0) {
		snprintf(range, sizeof(range), "bytes=%llu-",
		    (unsigned long long)x->range_start);
		add_header(x, h, &n, "range", range);
	}
	memset(&r, 0, sizeof(r));
	r.method = x->method;
	r.path = x->path;
	r.query = x->query;
	r.headers = h;
	r.nheaders = n;
	r.payload_hash = x->sha256;
	r.amz_date = amz_date;
	r.region = s3->region;
	r.service = "s3";
	r.access_key = c->access_key;
	r.secret_key = c->secret_key;
	auth = s3_sign(&r);
	line = xasprintf("Authorization: %s", auth);
	x->headers = curl_slist_append(x->headers, line);
	freezero(line, strlen(line));
	freezero(auth, strlen(auth));
	free(host);
	return 0;
}

/* Running */

int
s3_xfer_setup(struct s3_xfer *x, char *err, size_t errlen)
{
	struct s3	*s3 = x->s3;
	CURL		*c;
	char		*url, *host;
	const char	*q = *x->query != '\0' ? "?" : "";

	s3_xfer_reset(x);
	if ((x->easy = c = curl_easy_init()) == NULL)
		return errf(err, errlen, "curl_easy_init failed");
	if (sign_headers(x, err, errlen) == -1)
		return -1;
	host = request_host(s3);
	url = xasprintf("%s://%s%s%s%s", s3->scheme, host, x->path, q, x->query);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* a key's "." and ".." segments are signed as they are: curl must not squash them */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	free(url);
	free(host);
	if (strcmp(x->method, "POST") == 0)
		x->headers = curl_slist_append(x->headers, "Content-Type: application/xml");
	s3_http_defaults(c, s3->ca_file, x->curlerr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(c, CURLOPT_SHARE, s3->share);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, x->patient ?
	    S3_XFER_PATIENT_SECONDS : S3_XFER_QUIET_SECONDS);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s3->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s3->tls_verify ? 2L : 0L);
	if (x->fresh)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (x->cleanup)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
	else
		s3_http_cancellable(c);

	if (strcmp(x->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
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
	return 0;
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

/* Keeps the store's clock: the Date header of the latest answer. */
static void
note_date(struct s3 *s3, const char *date)
{
	time_t	t;

	if (*date == '\0' || (t = curl_getdate(date, NULL)) == -1)
		return;
	s3->date = t;
	s3->date_at = s3_now_ms();
}

/*
 * The store's clock, from the Date of an answer that refused the time we
 * signed with: RequestTimeTooSkewed, or a 403 without a body (the answer
 * to a HEAD) dated further from our signing clock than S3 allows.
 */
static int
skewed(struct s3_xfer *x, const char *code, time_t *t)
{
	time_t	off;

	if (x->date[0] == '\0' || (*t = curl_getdate(x->date, NULL)) == -1)
		return 0;
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return 1;
	off = *t - (time(NULL) + x->s3->skew);
	return *code == '\0' && x->status == 403 && (off > S3_SKEW_MAX || -off > S3_SKEW_MAX);
}

/* An answer the next try may change without waiting: 1 if so (a free try). */
static int
fixable(struct s3_xfer *x, const char *code)
{
	struct s3	*s3 = x->s3;
	time_t		 t;
	char		 secs[32];

	if (x->again >= S3_MAX_AGAIN)
		return 0;
	if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0)
		return s3_creds_expired(s3->creds);
	if (skewed(x, code, &t)) {
		s3->skew = t - time(NULL);
		snprintf(secs, sizeof(secs), "%lld", (long long)s3->skew);
		log_kv(LOGL_WARN, "s3: this machine's clock is off the store's; signing on "
		    "the store's clock", "seconds", secs, NULL);
		return 1;
	}
	return 0;
}

int
s3_xfer_check(struct s3_xfer *x, CURLcode rc, char *err, size_t errlen)
{
	struct s3	*s3 = x->s3;
	struct s3_error	 e;
	int		 has_error;

	if (x->sink_failed)
		return errf(err, errlen, "%s", x->sink_err);
	if (rc == CURLE_ABORTED_BY_CALLBACK && cancel_requested() && !x->cleanup)
		return errf(err, errlen, "%s %s: cancelled", x->method, x->what);
	if (rc != CURLE_OK) {
		errf(err, errlen, "%s %s: connection to %s failed: %s%s%s", x->method,
		    x->what, s3->host, curl_easy_strerror(rc), x->curlerr[0] ? ": " : "",
		    x->curlerr);
		return retryable_curl(rc) ? S3_XFER_RETRY : S3_XFER_FAIL;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	note_date(s3, x->date);
	has_error = s3_xml_error(x->resp.data, x->resp.len, &e);
	if (x->status >= 200 && x->status < 300 && !(x->body_error && has_error))
		return S3_XFER_OK;
	if (has_error) {
		errf(err, errlen, "%s %s: %s%s%s (HTTP %ld, request id %s)", x->method,
		    x->what, e.code, e.message[0] ? ": " : "", e.message, x->status,
		    e.request_id[0] ? e.request_id : x->request_id[0] ? x->request_id :
		    "none");
		strlcpy(x->code, e.code, sizeof(x->code));
		if (x->status == 404 && strcmp(e.code, "NoSuchKey") == 0)
			x->missing = 1;
	} else {
		errf(err, errlen, "%s %s: HTTP status %ld from %s", x->method, x->what,
		    x->status, s3->host);
		if (x->status == 404)
			x->missing = 1;
	}
	if (fixable(x, x->code)) {
		x->again++;
		return S3_XFER_AGAIN;
	}
	/* 501 and NotImplemented: the store lacks the call, and will not change. */
	if (x->status == 501 || strcmp(x->code, "NotImplemented") == 0)
		return S3_XFER_FAIL;
	if (x->status >= 500 || x->status == 429 || (has_error && retryable_code(e.code)))
		return S3_XFER_RETRY;
	return S3_XFER_FAIL;
}

int
s3_xfer_run(struct s3_xfer *x, char *err, size_t errlen)
{
	CURLcode	rc;
	uint64_t	before;
	int		r;

	for (;;) {
		before = x->received;
		if (s3_xfer_setup(x, err, errlen) == -1)
			return -1;
		rc = s3_http_perform(x->s3->multi, x->easy, !x->cleanup);
		if ((r = s3_xfer_check(x, rc, err, errlen)) <= S3_XFER_OK)
			return r;
		if (x->cleanup)
			return -1;
		if (r == S3_XFER_AGAIN)
			continue;
		/* A download that made progress resumes without using up a try. */
		if (x->received == before || x->sink == NULL)
			x->tries++;
		if (x->tries >= x->s3->max_tries)
			return errprefix(err, errlen, "gave up after %u tries", x->tries);
		log_kv(LOGL_WARN, "s3 request failed, retrying", "error", err, NULL);
		if (s3_sleep_ms(s3_backoff_ms(x->tries)) == -1)
			return errf(err, errlen, "%s %s: cancelled", x->method, x->what);
	}
}

int
s3_xfer_pages(struct s3 *s3, const char *param, const char *prefix, const char *id_marker,
    s3_page_fn page, void *arg, int *unsupported, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	struct s3_query	 q;
	char		*nkey = NULL, *nid = NULL;
	int		 r;

	if (unsupported != NULL)
		*unsupported = 0;
	do {
		s3_query_init(&q);
		s3_query_add(&q, param, NULL);
		s3_query_add(&q, "prefix", prefix);
		if (nkey != NULL)
			s3_query_add(&q, "key-marker", nkey);
		if (nid != NULL)
			s3_query_add(&q, id_marker, nid);
		free(nkey);
		free(nid);
		nkey = nid = NULL;
		s3_xfer_init(&x, s3, "GET", "bucket", s3_bucket_path(s3), s3_query_string(&q));
		s3_query_free(&q);
		if ((r = s3_xfer_run(&x, err, errlen)) == 0)
			r = page(x.resp.data, x.resp.len, arg, &nkey, &nid, err, errlen);
		else if (unsupported != NULL && (x.status == 501 ||
		    strcmp(x.code, "NotImplemented") == 0))
			*unsupported = 1;
		s3_xfer_free(&x);
	} while (r == 0 && nkey != NULL);
	free(nkey);
	free(nid);
	return r;
}

int
s3_xfer_delete(struct s3 *s3, const char *key, char *path, const char *param,
    const char *value, int cleanup, char *err, size_t errlen)
{
	struct s3_xfer	x;
	struct s3_query	q;
	int		r;

	s3_query_init(&q);
	if (param != NULL)
		s3_query_add(&q, param, value);
	s3_xfer_init(&x, s3, "DELETE", key, path, s3_query_string(&q));
	s3_query_free(&q);
	x.cleanup = cleanup;
	r = s3_xfer_run(&x, err, errlen);
	if (r == -1 && x.status == 404)
		r = 0;
	s3_xfer_free(&x);
	return r;
}
