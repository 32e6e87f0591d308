/*
 * s3_lock: Object Lock headers and retention, deleting (every version of a
 * key on a versioned bucket), and the probe of a bucket's features.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "storage/s3/s3_lock.h"
#include "storage/s3/s3_uri.h"
#include "storage/s3/s3_xml.h"

#define S3_DELETE_BATCH		1000

void
s3_lock_headers(struct s3 *s3, struct s3_xfer *x, time_t until)
{
	char	date[21];

	if (s3->lock_mode == NULL || until == 0)
		return;
	time_to_rfc3339(until, date);
	s3_xfer_header(x, "x-amz-object-lock-mode", s3->lock_mode);
	s3_xfer_header(x, "x-amz-object-lock-retain-until-date", date);
}

/* A GET of the bucket with one value-less parameter (?versioning, ?object-lock). */
static int
bucket_get(struct s3 *s3, struct s3_xfer *x, const char *param, const char *what,
    char *err, size_t errlen)
{
	struct s3_query	q;

	s3_query_init(&q);
	s3_query_add(&q, param, NULL);
	s3_xfer_init(x, s3, "GET", what, s3_bucket_path(s3), s3_query_string(&q));
	s3_query_free(&q);
	return s3_xfer_run(x, err, errlen);
}

/* 1 Enabled, 2 Suspended, 0 never; -1 when the store does not say (err). */
static int
get_versioning(struct s3 *s3, char *err, size_t errlen)
{
	struct s3_xfer	x;
	int		r;

	if ((r = bucket_get(s3, &x, "versioning", "bucket", err, errlen)) == 0 &&
	    (r = s3_xml_versioning(x.resp.data, x.resp.len, err, errlen)) == -1)
		r = 0;	/* a store that ignores ?versioning (s3rver) has none */
	s3_xfer_free(&x);
	return r;
}

/* Whether deletes must go version by version (asked once per location). */
static int
versioned(struct s3 *s3)
{
	char	err[KB_ERRLEN];
	int	v;

	if (s3->versioned >= 0)
		return s3->versioned;
	if (s3->lock_mode != NULL)
		return s3->versioned = 1;
	if ((v = get_versioning(s3, err, sizeof(err))) == -1) {
		log_kv(LOGL_WARN, "s3: cannot tell whether the bucket is versioned; deleting "
		    "current versions only", "error", err, NULL);
		v = 0;
	}
	return s3->versioned = v != 0;
}

/* Unversioned buckets */

static int
delete_one(struct s3 *s3, const char *key, const char *version, char *err, size_t errlen)
{
	return s3_xfer_delete(s3, key, s3_object_path(s3, key), version != NULL ?
	    "versionId" : NULL, version, 0, err, errlen);
}

/* DeleteObjects of up to 1000 keys; 1 when the store lacks it (501). */
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
		fk = s3_full_key(s3, keys[i]);
		s3_xml_append(&body, &len, &cap, "<Object><Key>");
		s3_xml_escape(&body, &len, &cap, fk);
		s3_xml_append(&body, &len, &cap, "</Key></Object>");
		free(fk);
	}
	s3_xml_append(&body, &len, &cap, "</Delete>");
	s3_query_init(&q);
	s3_query_add(&q, "delete", NULL);
	s3_xfer_init(&x, s3, "POST", "bucket", s3_bucket_path(s3), s3_query_string(&q));
	s3_query_free(&q);
	s3_xfer_body(&x, body, len);
	s3_xfer_md5(&x);
	if ((r = s3_xfer_run(&x, err, errlen)) == 0)
		r = s3_xml_delete_result(x.resp.data, x.resp.len, err, errlen);
	else if (x.status == 501 || strcmp(x.code, "NotImplemented") == 0)
		r = 1;
	s3_xfer_free(&x);
	free(body);
	return r;
}

static int
delete_current(struct s3 *s3, const char *const *keys, size_t n, char *err, size_t errlen)
{
	size_t	i, k;
	int	r;

	for (i = 0; i < n && !s3->no_batch_delete; i += k) {
		k = n - i > S3_DELETE_BATCH ? S3_DELETE_BATCH : n - i;
		if ((r = delete_batch(s3, keys + i, k, err, errlen)) == -1)
			return errprefix(err, errlen, "DeleteObjects s3://%s", s3->bucket);
		if (r == 1) {
			log_kv(LOGL_WARN, "s3: the store does not implement DeleteObjects; "
			    "deleting one object at a time", NULL);
			s3->no_batch_delete = 1;
			break;
		}
	}
	for (; i < n; i++)
		if (delete_one(s3, keys[i], NULL, err, errlen) == -1)
			return errprefix(err, errlen, "DeleteObject s3://%s", s3->bucket);
	return 0;
}

/* Versioned buckets */

struct versions {
	const char	*want;		/* full key */
	char		**ids;
	size_t		 n;
};

static int
version_one(const char *key, const char *id, int marker, void *arg)
{
	struct versions	*v = arg;

	if (strcmp(key, v->want) != 0)
		return 0;
	v->ids = xreallocarray(v->ids, v->n + 1, sizeof(*v->ids));
	v->ids[v->n++] = xstrdup(id);
	return 0;
}

static int
versions_page(const char *body, size_t len, void *arg, char **next_key, char **next_id,
    char *err, size_t errlen)
{
	return s3_xml_list_versions(body, len, version_one, arg, next_key, next_id, err,
	    errlen);
}

/* Every version id of key (delete markers included). */
static int
list_versions(struct s3 *s3, const char *key, struct versions *v, char *err, size_t errlen)
{
	char	*full = s3_full_key(s3, key);
	int	 r;

	v->want = full;
	r = s3_xfer_pages(s3, "versions", full, "version-id-marker", versions_page, v, NULL,
	    err, errlen);
	free(full);
	v->want = NULL;
	if (r == -1)
		return errprefix(err, errlen, "ListObjectVersions of %s", key);
	return 0;
}

/* The retain-until date of one version; 0 when it has none. */
static time_t
version_lock(struct s3 *s3, const char *key, const char *version)
{
	struct s3_xfer	x;
	struct s3_query	q;
	char		err[KB_ERRLEN];
	time_t		t = 0;

	s3_query_init(&q);
	s3_query_add(&q, "versionId", version);
	s3_xfer_init(&x, s3, "HEAD", key, s3_object_path(s3, key), s3_query_string(&q));
	s3_query_free(&q);
	if (s3_xfer_run(&x, err, sizeof(err)) == 0 && x.lock_until[0] != '\0' &&
	    s3_xml_time(x.lock_until, &t) == -1)
		t = 0;
	s3_xfer_free(&x);
	return t;
}

/*
 * What remove() cannot delete of a key, versions locked by the bucket's
 * default retention (a job marker, whose delete must not fail: it would
 * stand for a running job for ten minutes), a delete marker hides until
 * their date.
 */
static int
hide_locked(struct s3 *s3, const char *key, time_t until, char *err, size_t errlen)
{
	char	date[21];

	if (delete_one(s3, key, NULL, err, errlen) == -1)
		return -1;
	time_to_rfc3339(until, date);
	log_kv(LOGL_INFO, "s3: versions locked by the bucket's default retention are left "
	    "behind a delete marker", "key", key, "locked_until", date, NULL);
	return 0;
}

/* locked NULL: remove(), which hides what it cannot delete. */
static int
delete_versions(struct s3 *s3, const char *key, time_t *locked, char *err, size_t errlen)
{
	struct versions	v = { NULL, NULL, 0 };
	char		date[21];
	size_t		i;
	int		r = 0;
	time_t		until, hidden = 0;

	if (list_versions(s3, key, &v, err, errlen) == -1)
		return -1;
	for (i = 0; i < v.n && r == 0; i++) {
		if ((r = delete_one(s3, key, v.ids[i], err, errlen)) == 0)
			continue;
		if ((until = version_lock(s3, key, v.ids[i])) == 0)
			continue;
		if (locked == NULL) {
			hidden = until > hidden ? until : hidden;
			r = 0;
			continue;
		}
		*locked = until;
		time_to_rfc3339(until, date);
		errf(err, errlen, "%s: locked until %s (object lock)", key, date);
	}
	if (r == 0 && hidden != 0)
		r = hide_locked(s3, key, hidden, err, errlen);
	for (i = 0; i < v.n; i++)
		free(v.ids[i]);
	free(v.ids);
	return r;
}

int
s3_delete_keys(struct s3 *s3, const char *const *keys, size_t n, time_t *locked,
    char *err, size_t errlen)
{
	size_t	i;

	if (locked != NULL)
		*locked = 0;
	if (!versioned(s3))
		return delete_current(s3, keys, n, err, errlen);
	for (i = 0; i < n; i++)
		if (delete_versions(s3, keys[i], locked, err, errlen) == -1)
			return errprefix(err, errlen, "delete s3://%s", s3->bucket);
	return 0;
}

int
s3_remove(struct storage *st, const char *const *keys, size_t n, char *err, size_t errlen)
{
	return s3_delete_keys(st->priv, keys, n, NULL, err, errlen);
}

int
s3_remove_unless_locked(struct storage *st, const char *const *keys, size_t n,
    time_t *locked_until, char *err, size_t errlen)
{
	return s3_delete_keys(st->priv, keys, n, locked_until, err, errlen);
}

/* Retention */

static int
put_retention(struct s3 *s3, const char *key, const char *version, const char *mode,
    time_t until, char *err, size_t errlen)
{
	struct s3_xfer	 x;
	struct s3_query	 q;
	char		*body = NULL, date[21];
	size_t		 len = 0, cap = 0;
	int		 r;

	time_to_rfc3339(until, date);
	s3_xml_append(&body, &len, &cap, "<Retention xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Mode>");
	s3_xml_escape(&body, &len, &cap, mode);
	s3_xml_append(&body, &len, &cap, "</Mode><RetainUntilDate>");
	s3_xml_append(&body, &len, &cap, date);
	s3_xml_append(&body, &len, &cap, "</RetainUntilDate></Retention>");
	s3_query_init(&q);
	s3_query_add(&q, "retention", NULL);
	if (version[0] != '\0')
		s3_query_add(&q, "versionId", version);
	s3_xfer_init(&x, s3, "PUT", key, s3_object_path(s3, key), s3_query_string(&q));
	s3_query_free(&q);
	s3_xfer_body(&x, body, len);
	s3_xfer_md5(&x);
	r = s3_xfer_run(&x, err, errlen);
	s3_xfer_free(&x);
	free(body);
	return r;
}

int
s3_retain(struct storage *st, const char *key, time_t until, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	struct s3_xfer	 x;
	char		 version[256], mode[32];
	time_t		 now_until = 0;
	int		 r;

	if (s3->lock_mode == NULL || until == 0)
		return 0;
	s3_xfer_init(&x, s3, "HEAD", key, s3_object_path(s3, key), NULL);
	if ((r = s3_xfer_run(&x, err, errlen)) == 0) {
		strlcpy(version, x.version_id, sizeof(version));
		strlcpy(mode, x.lock_mode[0] != '\0' ? x.lock_mode : s3->lock_mode,
		    sizeof(mode));
		if (x.lock_until[0] != '\0' && s3_xml_time(x.lock_until, &now_until) == -1)
			now_until = 0;
	}
	s3_xfer_free(&x);
	if (r == 0 && now_until < until)
		r = put_retention(s3, key, version, mode, until, err, errlen);
	if (r == -1)
		return errprefix(err, errlen, "PutObjectRetention");
	return 0;
}

/* Probe */

static void
probe_lock(struct s3 *s3, struct storage_probe *p, char *lerr, size_t lerrlen)
{
	struct s3_xfer	x;
	char		mode[16], period[16];
	int		enabled;

	if (bucket_get(s3, &x, "object-lock", "bucket", lerr, lerrlen) == 0) {
		p->object_lock = 0;	/* a store that ignores ?object-lock (s3rver) has none */
		if (s3_xml_lock_config(x.resp.data, x.resp.len, &enabled, mode, sizeof(mode),
		    period, sizeof(period), lerr, lerrlen) == 0) {
			p->object_lock = enabled;
			if (mode[0] != '\0')
				snprintf(p->lock_default, sizeof(p->lock_default), "%s %s",
				    mode, period);
		}
	} else if (x.status == 404 || x.status == 501 || strcmp(x.code, "NotImplemented") == 0)
		p->object_lock = 0;	/* ObjectLockConfigurationNotFoundError, or no such call */
	s3_xfer_free(&x);
}

static void
probe_uploads(struct s3 *s3, struct storage_probe *p)
{
	struct s3_xfer	x;
	struct s3_query	q;
	char		err[KB_ERRLEN];

	s3_query_init(&q);
	s3_query_add(&q, "max-uploads", "1");
	s3_query_add(&q, "uploads", NULL);
	s3_xfer_init(&x, s3, "GET", "bucket", s3_bucket_path(s3), s3_query_string(&q));
	s3_query_free(&q);
	if (s3_xfer_run(&x, err, sizeof(err)) == 0)
		p->list_pending = 1;
	else if (x.status == 501 || strcmp(x.code, "NotImplemented") == 0)
		p->list_pending = 0;
	s3_xfer_free(&x);
}

int
s3_probe(struct storage *st, struct storage_probe *p, char *err, size_t errlen)
{
	struct s3	*s3 = st->priv;
	char		 lerr[KB_ERRLEN] = "", verr[KB_ERRLEN];
	int		 v;

	memset(p, 0, sizeof(*p));
	p->object_lock = p->versioning = p->list_pending = -1;
	probe_lock(s3, p, lerr, sizeof(lerr));
	if ((v = get_versioning(s3, verr, sizeof(verr))) >= 0)
		p->versioning = v;
	probe_uploads(s3, p);
	strlcpy(p->credentials, s3_creds_source(s3->creds), sizeof(p->credentials));
	if (s3->lock_mode == NULL || p->object_lock == 1)
		return 0;
	if (p->object_lock == 0)
		return errf(err, errlen, "object_lock is set, but bucket %s has no Object Lock "
		    "enabled (create the bucket with Object Lock, or enable it on a "
		    "versioned bucket)", s3->bucket);
	return errf(err, errlen, "object_lock is set, but whether bucket %s has Object Lock "
	    "enabled cannot be told: %s", s3->bucket, lerr[0] ? lerr : "no answer");
}
