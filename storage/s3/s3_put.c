/*
 * s3_put: single and multipart uploads.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/s3/s3_etag.h"
#include "storage/s3/s3_lock.h"
#include "storage/s3/s3_put.h"
#include "storage/s3/s3_uri.h"
#include "storage/s3/s3_xfer.h"
#include "storage/s3/s3_xml.h"

#define MIB			(1024ULL * 1024)
#define S3_MAX_PART		(5 * 1024 * MIB)
#define S3_MAX_PARTS		10000
#define S3_MAX_OBJECT		(5ULL * 1024 * 1024 * MIB)
#define S3_IDLE_MS		10000	/* see part_done() */

struct s3_part {
	struct s3_xfer	 x;	/* first: the curl handle's private pointer */
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
	uint64_t	 budget;	/* bytes of part buffers at most (but one larger part) */
	uint64_t	 size_hint;
	uint64_t	 total;
	unsigned	 nparts;	/* parts handed out so far */
	char		**etags;	/* by part number - 1 */
	char		**sums;		/* their x-amz-checksum-sha256, by part number - 1 */
	struct s3_part	*slots;
	unsigned	 nslots;
	CURLM		*multi;
	uint64_t	 last_step;	/* when curl was last driven (ms) */
	int		 if_absent;
	time_t		 retain_until;
	int		 failed;
	char		 err[KB_ERRLEN];
};

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

int
s3_put_begin(struct storage *st, const char *key, const struct storage_put *put,
    struct storage_upload **up, char *err, size_t errlen)
{
	struct s3		*s3 = st->priv;
	struct storage_upload	*u;

	u = xcalloc(1, sizeof(*u));
	u->s3 = s3;
	u->key = xstrdup(key);
	u->path = s3_object_path(s3, key);
	u->size_hint = put->size_hint;
	u->if_absent = put->if_absent;
	u->retain_until = s3->lock_mode != NULL ? put->retain_until : 0;
	u->part_size = pick_part_size(s3, put->size_hint);
	u->budget = s3->part_size * (s3->parts_in_flight + 1);
	u->nslots = s3->parts_in_flight;
	*up = u;
	return 0;
}

/* How many parts may be in flight now: what the budget leaves beside the one filling. */
static unsigned
parts_allowed(struct storage_upload *u)
{
	uint64_t	n = u->budget / u->part_size;

	if (n < 2)
		return 1;
	return n - 1 < u->nslots ? (unsigned)(n - 1) : u->nslots;
}

/* One buffer only: a part larger than half the budget is sent before the next fills. */
static int
serial(struct storage_upload *u)
{
	return u->budget / u->part_size < 2;
}

/* The headers every new object gets: storage class, encryption, lock, checksum kind. */
static void
object_headers(struct storage_upload *u, struct s3_xfer *x, int multipart)
{
	struct s3	*s3 = u->s3;

	if (s3->storage_class != NULL)
		s3_xfer_header(x, "x-amz-storage-class", s3->storage_class);
	if (s3->sse != NULL)
		s3_xfer_header(x, "x-amz-server-side-encryption", s3->sse);
	if (s3->sse_kms_key_id != NULL)
		s3_xfer_header(x, "x-amz-server-side-encryption-aws-kms-key-id",
		    s3->sse_kms_key_id);
	s3_lock_headers(s3, x, u->retain_until);
	if (multipart && s3->checksum)
		s3_xfer_header(x, "x-amz-checksum-algorithm", "SHA256");
}

/* Checksum of a body: SHA-256 when sent; else Content-MD5 where Object Lock needs one. */
static void
body_checksum(struct storage_upload *u, struct s3_xfer *x)
{
	if (u->s3->checksum)
		s3_xfer_checksum(x);
	else if (u->retain_until != 0)
		s3_xfer_md5(x);
}

/* The store answered a checksum of what it stored: it must be ours. */
static int
checksum_matches(struct s3_xfer *x, char *err, size_t errlen)
{
	char	ours[48];

	if (x->checksum[0] == '\0' || !x->s3->checksum)
		return 0;
	s3_xfer_sha256_b64(x, ours);
	if (strcmp(ours, x->checksum) == 0)
		return 0;
	return errf(err, errlen, "%s %s: the store's SHA-256 of what it received (%s) is "
	    "not that of what was sent (%s)", x->method, x->what, x->checksum, ours);
}

static int
upload_create(struct storage_upload *u, char *err, size_t errlen)
{
	struct s3_xfer	x;
	struct s3_query	q;
	int		r;

	s3_query_init(&q);
	s3_query_add(&q, "uploads", NULL);
	s3_xfer_init(&x, u->s3, "POST", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	object_headers(u, &x, 1);
	if ((r = s3_xfer_run(&x, err, errlen)) == 0)
		r = s3_xml_upload_id(x.resp.data, x.resp.len, &u->upload_id, err, errlen);
	s3_xfer_free(&x);
	if (r == -1)
		return errprefix(err, errlen, "CreateMultipartUpload");
	u->multi = curl_multi_init();
	u->slots = xcalloc(u->nslots, sizeof(*u->slots));
	return 0;
}

/* A buffer of a part size outgrown is not kept: it would never be filled again. */
static void
drop_buffer(struct s3_part *p)
{
	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
}

static void
part_fail(struct storage_upload *u, struct s3_part *p, const char *err)
{
	if (!u->failed) {
		u->failed = 1;
		strlcpy(u->err, err, sizeof(u->err));
	}
	s3_xfer_free(&p->x);
	p->busy = 0;
}

static void
part_start(struct storage_upload *u, struct s3_part *p)
{
	char	err[KB_ERRLEN];

	p->waiting = 0;
	if (s3_xfer_setup(&p->x, err, sizeof(err)) == -1) {
		part_fail(u, p, err);
		return;
	}
	curl_multi_add_handle(u->multi, p->x.easy);
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
	r = s3_xfer_check(&p->x, rc, err, sizeof(err));
	if (r == S3_XFER_OK && p->x.etag[0] == '\0')
		r = errf(err, sizeof(err), "PUT %s part %u: no ETag in response", u->key,
		    p->partno);
	if (r == S3_XFER_OK && checksum_matches(&p->x, err, sizeof(err)) == -1)
		r = errprefix(err, sizeof(err), "part %u", p->partno);
	if (r == S3_XFER_OK) {
		u->etags[p->partno - 1] = xstrdup(p->x.etag);
		s3_xfer_free(&p->x);
		p->busy = 0;
		if (p->cap < u->part_size)
			drop_buffer(p);
		return;
	}
	if (r == S3_XFER_RETRY && !idle)
		p->x.tries++;
	if ((r == S3_XFER_RETRY && p->x.tries < u->s3->max_tries) || r == S3_XFER_AGAIN) {
		if (r == S3_XFER_RETRY)
			log_kv(LOGL_WARN, "s3 part upload failed, retrying", "error", err, NULL);
		s3_xfer_reset(&p->x);
		p->waiting = 1;
		p->retry_at = s3_now_ms() + (r == S3_XFER_AGAIN ? 0 : s3_backoff_ms(p->x.tries));
		return;
	}
	if (r == S3_XFER_RETRY)
		errprefix(err, sizeof(err), "gave up after %u tries", p->x.tries);
	part_fail(u, p, err);
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
	uint64_t	 now = s3_now_ms(), wait = 1000;
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
		part_done(u, (struct s3_part *)priv, m->data.result, idle);
	}
	return (int)wait;
}

/* Drives the transfers until at most limit parts are busy; a cancel stops it at once. */
static int
upload_drive(struct storage_upload *u, unsigned limit, char *err, size_t errlen)
{
	struct curl_waitfd	w;
	int			wait, nw = s3_cancel_waitfd(&w);

	while (!u->failed && busy_slots(u) > limit) {
		if (cancel_requested()) {
			u->failed = 1;
			errf(u->err, sizeof(u->err), "PUT %s: cancelled", u->key);
			break;
		}
		wait = upload_step(u);
		if (!u->failed && busy_slots(u) > limit)
			curl_multi_poll(u->multi, &w, (unsigned)nw, wait, NULL);
	}
	if (u->failed)
		return errf(err, errlen, "%s", u->err);
	return 0;
}

/* In serial mode the filling buffer is the one just sent, once it is done. */
static void
reclaim_buffer(struct storage_upload *u, struct s3_part *p)
{
	if (p->buf == NULL)
		return;
	free(u->buf);
	u->buf = p->buf;
	u->cap = p->cap;
	p->buf = NULL;
	p->cap = 0;
}

/*
 * Unknown or exceeded size: larger parts as the count grows, until the
 * parts left at this size reach 5 TiB (a 5 TiB object ends with parts of
 * 2 GiB, its 9564th, with the defaults).  Fewer of them may then be in
 * flight: the ones of the old size drain before the next, larger buffer is
 * filled, and idle buffers of the old size go, so that memory stays within
 * the budget across the change too.
 */
static int
grow(struct storage_upload *u, char *err, size_t errlen)
{
	unsigned	i;

	if ((u->size_hint != 0 && u->total < u->size_hint) ||
	    u->part_size * 2 > S3_MAX_PART ||
	    u->total + u->part_size * (S3_MAX_PARTS - u->nparts) >= S3_MAX_OBJECT)
		return 0;
	u->part_size *= 2;
	for (i = 0; i < u->nslots; i++)
		if (!u->slots[i].busy)
			drop_buffer(&u->slots[i]);
	return upload_drive(u, parts_allowed(u) - 1, err, errlen);
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
	if (upload_drive(u, parts_allowed(u) - 1, err, errlen) == -1)
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
	u->sums = xreallocarray(u->sums, u->nparts, sizeof(*u->sums));
	u->sums[p->partno - 1] = NULL;
	s3_query_init(&q);
	snprintf(num, sizeof(num), "%u", p->partno);
	s3_query_add(&q, "partNumber", num);
	s3_query_add(&q, "uploadId", u->upload_id);
	s3_xfer_init(&p->x, u->s3, "PUT", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	s3_xfer_body(&p->x, p->buf, u->len);
	body_checksum(u, &p->x);
	if (u->s3->checksum) {
		u->sums[p->partno - 1] = xmalloc(48);
		s3_xfer_sha256_b64(&p->x, u->sums[p->partno - 1]);
	}
	u->len = 0;
	p->busy = 1;
	part_start(u, p);
	if (u->nparts % 1000 == 0 && grow(u, err, errlen) == -1)
		return -1;
	if (serial(u)) {
		if (upload_drive(u, 0, err, errlen) == -1)
			return -1;
		reclaim_buffer(u, p);
	}
	return 0;
}

int
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
	if (cancel_requested())
		return errf(err, errlen, "PUT %s: cancelled", u->key);
	while (len > 0) {
		if (u->len == u->part_size && upload_submit(u, err, errlen) == -1)
			return -1;
		/*
		 * Empty here (the size changes only right after a submit).  A whole
		 * part at once: pages never written (a small object) cost no memory,
		 * and growing by realloc would hold two copies for a while.
		 */
		if (u->cap < u->part_size) {
			free(u->buf);
			u->buf = xmalloc(u->part_size);
			u->cap = u->part_size;
		}
		n = u->part_size - u->len;
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
		s3_xfer_free(&u->slots[i].x);
		free(u->slots[i].buf);
	}
	free(u->slots);
	if (u->multi != NULL)
		curl_multi_cleanup(u->multi);
	for (i = 0; i < u->nparts; i++) {
		free(u->etags[i]);
		free(u->sums[i]);
	}
	free(u->etags);
	free(u->sums);
	free(u->buf);
	free(u->upload_id);
	free(u->path);
	free(u->key);
	free(u);
}

static int
upload_abort_remote(struct storage_upload *u, char *err, size_t errlen)
{
	return s3_xfer_delete(u->s3, u->key, xstrdup(u->path), "uploadId", u->upload_id, 1,
	    err, errlen);
}

/* The object at the key is the one this upload sent (single PUT: its ETag is the MD5). */
static int
single_is_ours(struct storage_upload *u)
{
	struct s3_xfer	x;
	unsigned char	md[16];
	unsigned int	mdlen = sizeof(md);
	char		want[33], err[KB_ERRLEN];
	int		ours = 0;

	EVP_Digest(u->buf != NULL ? u->buf : "", u->len, md, &mdlen, EVP_md5(), NULL);
	hex_encode(md, sizeof(md), want);
	s3_xfer_init(&x, u->s3, "HEAD", u->key, xstrdup(u->path), NULL);
	if (s3_xfer_run(&x, err, sizeof(err)) == 0 && s3_etag_same(x.etag, want))
		ours = 1;
	s3_xfer_free(&x);
	return ours;
}

static int
exists_error(const char *key, int *exists, char *err, size_t errlen)
{
	if (exists != NULL)
		*exists = 1;
	return errf(err, errlen, "create %s: it exists already (never replaced)", key);
}

static int
upload_single(struct storage_upload *u, int *exists, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	const char	*k;
	char		 derr[KB_ERRLEN];
	int		 r;

	s3_xfer_init(&x, u->s3, "PUT", u->key, xstrdup(u->path), NULL);
	s3_xfer_body(&x, u->buf != NULL ? u->buf : "", u->len);
	object_headers(u, &x, 0);
	body_checksum(u, &x);
	if (u->if_absent) {
		s3_xfer_header(&x, "if-none-match", "*");
		x.fresh = 1;
	}
	r = s3_xfer_run(&x, err, errlen);
	if (r == -1 && x.status == 412) {
		/* a retry after a try that worked but whose answer was lost finds ours */
		if (x.tries > 0 && single_is_ours(u))
			r = 0;
		else
			r = exists_error(u->key, exists, err, errlen);
	} else if (r == 0 && checksum_matches(&x, err, errlen) == -1) {
		k = u->key;
		if (s3_delete_keys(u->s3, &k, 1, NULL, derr, sizeof(derr)) == -1)
			errprefix(err, errlen, "the object is left (%s)", derr);
		r = -1;
	}
	s3_xfer_free(&x);
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
	s3_xfer_init(&x, u->s3, "HEAD", u->key, xstrdup(u->path), NULL);
	if ((r = s3_xfer_run(&x, herr, sizeof(herr))) == -1)
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
	s3_xfer_free(&x);
	return r;
}

static char *
complete_body(struct storage_upload *u, size_t *lenp)
{
	char		*body = NULL, num[16];
	size_t		 len = 0, cap = 0;
	unsigned	 i;

	s3_xml_append(&body, &len, &cap, "<CompleteMultipartUpload>");
	for (i = 0; i < u->nparts; i++) {
		snprintf(num, sizeof(num), "%u", i + 1);
		s3_xml_append(&body, &len, &cap, "<Part><PartNumber>");
		s3_xml_append(&body, &len, &cap, num);
		s3_xml_append(&body, &len, &cap, "</PartNumber><ETag>");
		s3_xml_escape(&body, &len, &cap, u->etags[i]);
		s3_xml_append(&body, &len, &cap, "</ETag>");
		if (u->sums[i] != NULL) {
			s3_xml_append(&body, &len, &cap, "<ChecksumSHA256>");
			s3_xml_escape(&body, &len, &cap, u->sums[i]);
			s3_xml_append(&body, &len, &cap, "</ChecksumSHA256>");
		}
		s3_xml_append(&body, &len, &cap, "</Part>");
	}
	s3_xml_append(&body, &len, &cap, "</CompleteMultipartUpload>");
	*lenp = len;
	return body;
}

static int
upload_complete(struct storage_upload *u, int *exists, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	struct s3_query	 q;
	char		*body, cerr[KB_ERRLEN];
	size_t		 len;
	int		 r;

	body = complete_body(u, &len);
	s3_query_init(&q);
	s3_query_add(&q, "uploadId", u->upload_id);
	s3_xfer_init(&x, u->s3, "POST", u->key, xstrdup(u->path), s3_query_string(&q));
	s3_query_free(&q);
	s3_xfer_body(&x, body, len);
	if (u->if_absent)
		s3_xfer_header(&x, "if-none-match", "*");
	x.body_error = 1;
	x.fresh = 1;
	x.patient = 1;
	r = s3_xfer_run(&x, err, errlen);
	if (r == -1 && x.tries > 0 && ((x.status == 404 &&
	    strcmp(x.code, "NoSuchUpload") == 0) || x.status == 412)) {
		strlcpy(cerr, err, sizeof(cerr));
		r = upload_verify(u, cerr, err, errlen);
	} else if (r == -1 && x.status == 412)
		r = exists_error(u->key, exists, err, errlen);
	s3_xfer_free(&x);
	free(body);
	if (r == -1 && (exists == NULL || !*exists))
		errprefix(err, errlen, "CompleteMultipartUpload");
	return r;
}

/*
 * if_absent: a store without conditional writes would replace the object,
 * so a HEAD just before the final request checks that the key is free.
 */
static int
upload_check_absent(struct storage_upload *u, int *exists, char *err, size_t errlen)
{
	struct s3_xfer	x;
	int		r;

	if (!u->if_absent)
		return 0;
	s3_xfer_init(&x, u->s3, "HEAD", u->key, xstrdup(u->path), NULL);
	r = s3_xfer_run(&x, err, errlen);
	if (r == -1 && x.missing)
		r = 1;
	s3_xfer_free(&x);
	if (r == -1)
		return errprefix(err, errlen, "checking that %s is free", u->key);
	if (r == 0)
		return exists_error(u->key, exists, err, errlen);
	return 0;
}

int
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
		r = upload_single(u, exists, err, errlen);
	else if ((u->len > 0 && upload_submit(u, err, errlen) == -1) ||
	    upload_drive(u, 0, err, errlen) == -1)
		r = -1;
	else
		r = upload_complete(u, exists, err, errlen);
	if (r == -1 && u->upload_id != NULL &&
	    upload_abort_remote(u, aerr, sizeof(aerr)) == -1)
		log_kv(LOGL_WARN, "s3: could not abort multipart upload", "key", u->key,
		    "error", aerr, NULL);
	upload_free(u);
	return r;
}

void
s3_put_abort(struct storage_upload *u)
{
	char	err[KB_ERRLEN];

	if (u->upload_id != NULL && upload_abort_remote(u, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "s3: could not abort multipart upload", "key", u->key,
		    "error", err, NULL);
	upload_free(u);
}
