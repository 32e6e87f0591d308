/*
 * api: the control API's routes, its job threads and the jobs it remembers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/httpd.h"
#include "common/log.h"
#include "common/timeparse.h"
#include "common/util.h"
#include "common/xjson.h"
#include "runner/catalog/backup_id.h"
#include "runner/cmd/jobs.h"
#include "runner/service/api.h"
#include "runner/service/control.h"
#include "runner/service/jobrun.h"

#define JOBS_FILE	"api-jobs.json"
#define JOBS_FILE_MAX	(1024 * 1024)
#define INTERRUPTED	"interrupted: the runner stopped during the job"

enum job_state { JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED };
static const char *const state_names[] = { "running", "succeeded", "failed", NULL };

struct api_job {
	uint64_t	 seq;			/* 0: free slot; else the order of arrival */
	char		 id[32];		/* START-RANDOM: 20261124T030000Z-1a2b3c4d */
	char		 kind[8];		/* backup, restore */
	char		 source[8];		/* api, or daemon (schedule, trigger) */
	char		 request_id[API_REQUEST_ID_MAX + 1];
	enum job_state	 state;
	char		 backup_id[BACKUP_ID_MAX];
	time_t		 started;
	time_t		 finished;		/* 0 while running */
	uint64_t	 raw_bytes;
	uint64_t	 stored_bytes;
	char		 error[256];
	/* a restore: what was asked for ("" when not given) */
	char		 want_backup[BACKUP_ID_MAX];
	char		 want_at[64];
	char		 want_database[256];
};

struct api {
	struct http_server	*http;
	struct control		*ctl;
	struct jobrun		*jr;
	char			*definition;	/* NAMESPACE/NAME: a reload keeps it */
	char			*token;
	char			*jobs_path;
	pthread_mutex_t		 lock;		/* everything below */
	pthread_cond_t		 idle;		/* threads reached 0 */
	struct api_job		 jobs[API_JOBS_MAX];
	uint64_t		 seq;
	struct api_job		*active;	/* the job a thread of ours runs */
	int			 threads;
};

/* A job thread's work. */
struct api_work {
	struct api		*api;
	struct api_job		*job;
	struct restore_request	 req;
};

/* One HTTP request. */
struct api_req {
	int	 authorized;
	char	*body;
	size_t	 len;
	int	 too_big;
	char	*reply;
	char	 location[64];
};

int
api_token_ok(const char *token, const char *header)
{
	unsigned char	want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return 0;
	/* digests of both: equal lengths, and nothing learnt from the token's length */
	SHA256((const unsigned char *)token, strlen(token), want);
	SHA256((const unsigned char *)header + 7, strlen(header + 7), got);
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

/* Jobs: JSON, the same for the answers and the file. */

static void
put_time(json_t *o, const char *key, time_t t)
{
	char	buf[21];

	if (t == 0)
		return;
	time_to_rfc3339(t, buf);
	json_object_set_new(o, key, json_string(buf));
}

static void
put_str(json_t *o, const char *key, const char *s)
{
	if (s[0] != '\0')
		json_object_set_new(o, key, json_string(s));
}

static json_t *
job_json(const struct api_job *j)
{
	json_t	*o = json_object(), *req;

	json_object_set_new(o, "id", json_string(j->id));
	json_object_set_new(o, "kind", json_string(j->kind));
	json_object_set_new(o, "source", json_string(j->source));
	put_str(o, "requestId", j->request_id);
	json_object_set_new(o, "state", json_string(state_names[j->state]));
	put_str(o, "backupId", j->backup_id);
	put_time(o, "startTime", j->started);
	put_time(o, "completionTime", j->finished);
	if (strcmp(j->kind, "backup") == 0 && j->state == JOB_SUCCEEDED) {
		json_object_set_new(o, "rawBytes", json_integer((json_int_t)j->raw_bytes));
		json_object_set_new(o, "storedBytes",
		    json_integer((json_int_t)j->stored_bytes));
	}
	put_str(o, "error", j->error);
	if (strcmp(j->kind, "restore") == 0) {
		req = json_object();
		put_str(req, "backup", j->want_backup);
		put_str(req, "at", j->want_at);
		put_str(req, "database", j->want_database);
		json_object_set_new(o, "request", req);
	}
	return o;
}

static int
get_str(json_t *o, const char *key, char *buf, size_t len)
{
	json_t	*v = json_object_get(o, key);

	buf[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= len ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	strlcpy(buf, json_string_value(v), len);
	return 0;
}

static int
get_time(json_t *o, const char *key, time_t *t)
{
	char	buf[32], err[KB_ERRLEN];

	*t = 0;
	if (get_str(o, key, buf, sizeof(buf)) == -1)
		return -1;
	return buf[0] == '\0' ? 0 : time_parse(buf, NULL, t, err, sizeof(err));
}

static int
get_bytes(json_t *o, const char *key, uint64_t *n)
{
	json_t	*v = json_object_get(o, key);

	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*n = (uint64_t)json_integer_value(v);
	return 0;
}

/* A job read back from the file; -1 if anything in it is off. */
static int
job_from_json(json_t *o, struct api_job *j)
{
	char	state[16];
	json_t	*req = json_object_get(o, "request");
	int	i;

	memset(j, 0, sizeof(*j));
	if (get_str(o, "id", j->id, sizeof(j->id)) == -1 || j->id[0] == '\0' ||
	    get_str(o, "kind", j->kind, sizeof(j->kind)) == -1 ||
	    (strcmp(j->kind, "backup") != 0 && strcmp(j->kind, "restore") != 0) ||
	    get_str(o, "source", j->source, sizeof(j->source)) == -1 ||
	    get_str(o, "requestId", j->request_id, sizeof(j->request_id)) == -1 ||
	    get_str(o, "state", state, sizeof(state)) == -1 ||
	    get_str(o, "backupId", j->backup_id, sizeof(j->backup_id)) == -1 ||
	    get_time(o, "startTime", &j->started) == -1 ||
	    get_time(o, "completionTime", &j->finished) == -1 ||
	    get_bytes(o, "rawBytes", &j->raw_bytes) == -1 ||
	    get_bytes(o, "storedBytes", &j->stored_bytes) == -1 ||
	    get_str(o, "error", j->error, sizeof(j->error)) == -1 ||
	    get_str(req, "backup", j->want_backup, sizeof(j->want_backup)) == -1 ||
	    get_str(req, "at", j->want_at, sizeof(j->want_at)) == -1 ||
	    get_str(req, "database", j->want_database, sizeof(j->want_database)) == -1)
		return -1;
	for (i = 0; state_names[i] != NULL; i++)
		if (strcmp(state, state_names[i]) == 0)
			break;
	if (state_names[i] == NULL)
		return -1;
	j->state = (enum job_state)i;
	return 0;
}

/* Writes every remembered job to the file; the caller holds the lock. */
static void
jobs_save(struct api *a)
{
	json_t	*arr = json_array(), *doc;
	char	*text, err[KB_ERRLEN];
	size_t	 i;

	for (i = 0; i < API_JOBS_MAX; i++)
		if (a->jobs[i].seq != 0)
			json_array_append_new(arr, json_pack("{s:I, s:o}", "seq",
			    (json_int_t)a->jobs[i].seq, "job", job_json(&a->jobs[i])));
	doc = json_pack("{s:i, s:o}", "format", 1, "jobs", arr);
	text = xjson_dumps(doc, JSON_COMPACT);
	if (write_file_atomic(a->jobs_path, text, strlen(text), 0600, err,
	    sizeof(err)) == -1)
		log_kv(LOGL_WARN, "control API: jobs not saved", "error", err, NULL);
	free(text);
}

/* Reads the file a previous daemon left; what cannot be read is forgotten. */
static void
jobs_load(struct api *a)
{
	json_t		*doc, *item;
	json_error_t	 jerr;
	char		*buf, err[KB_ERRLEN];
	size_t		 len, i, n = 0;
	struct api_job	*j;
	json_int_t	 seq;

	if (access(a->jobs_path, F_OK) == -1 && errno == ENOENT)
		return;		/* the first start */
	if (read_file(a->jobs_path, JOBS_FILE_MAX, &buf, &len, err, sizeof(err)) == -1) {
		log_kv(LOGL_WARN, "control API: earlier jobs not read", "error", err, NULL);
		return;
	}
	doc = json_loadb(buf, len, 0, &jerr);
	free(buf);
	json_array_foreach(json_object_get(doc, "jobs"), i, item) {
		if (n == API_JOBS_MAX)
			break;
		j = &a->jobs[n];
		seq = json_integer_value(json_object_get(item, "seq"));
		if (seq <= 0 || job_from_json(json_object_get(item, "job"), j) == -1) {
			memset(j, 0, sizeof(*j));
			continue;
		}
		j->seq = (uint64_t)seq;
		if (j->seq > a->seq)
			a->seq = j->seq;
		if (j->state == JOB_RUNNING) {
			j->state = JOB_FAILED;
			strlcpy(j->error, INTERRUPTED, sizeof(j->error));
		}
		n++;
	}
	if (doc == NULL || !json_is_array(json_object_get(doc, "jobs")))
		log_kv(LOGL_WARN, "control API: earlier jobs not read", "path", a->jobs_path,
		    "error", doc == NULL ? jerr.text : "no jobs array", NULL);
	json_decref(doc);
}

/*
 * A new job in a free slot or the oldest one that is not running (one job
 * at most runs: the slot of control.h); the caller holds the lock.  Slots
 * never move: a running job's pointer stays valid.
 */
static struct api_job *
job_new(struct api *a, const char *kind, const char *source, const char *request_id)
{
	struct api_job	*j = NULL;
	unsigned char	 rnd[4];
	char		 id[17], hex[9];
	size_t		 i;

	for (i = 0; i < API_JOBS_MAX; i++) {
		if (a->jobs[i].seq == 0) {
			j = &a->jobs[i];
			break;
		}
		if (a->jobs[i].state != JOB_RUNNING && (j == NULL || a->jobs[i].seq < j->seq))
			j = &a->jobs[i];
	}
	memset(j, 0, sizeof(*j));
	j->seq = ++a->seq;
	j->started = time(NULL);
	time_to_id(j->started, id);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		arc4random_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(j->id, sizeof(j->id), "%s-%s", id, hex);
	strlcpy(j->kind, kind, sizeof(j->kind));
	strlcpy(j->source, source, sizeof(j->source));
	if (request_id != NULL)
		strlcpy(j->request_id, request_id, sizeof(j->request_id));
	j->state = JOB_RUNNING;
	return j;
}

static struct api_job *
job_find(struct api *a, const char *key, const char *value)
{
	size_t	i;

	for (i = 0; i < API_JOBS_MAX; i++) {
		if (a->jobs[i].seq == 0)
			continue;
		if (strcmp(key, "id") == 0 ? strcmp(a->jobs[i].id, value) == 0 :
		    strcmp(a->jobs[i].request_id, value) == 0)
			return &a->jobs[i];
	}
	return NULL;
}

/* The newest ended job of kind, or NULL. */
static const struct api_job *
job_last(struct api *a, const char *kind)
{
	const struct api_job	*j = NULL;
	size_t			 i;

	for (i = 0; i < API_JOBS_MAX; i++)
		if (a->jobs[i].seq != 0 && a->jobs[i].state != JOB_RUNNING &&
		    strcmp(a->jobs[i].kind, kind) == 0 &&
		    (j == NULL || a->jobs[i].seq > j->seq))
			j = &a->jobs[i];
	return j;
}

/*
 * jobrun's end-of-job callback, in the job's thread: fills in the job a
 * thread of ours runs, or remembers a scheduled or triggered one.
 */
static void
on_done(void *arg, const struct jobrun_done *d)
{
	struct api	*a = arg;
	struct api_job	*j;

	pthread_mutex_lock(&a->lock);
	if ((j = a->active) == NULL) {
		j = job_new(a, d->job, "daemon", NULL);
		if (d->res->started != 0)
			j->started = d->res->started;
	}
	if (d->res->id[0] != '\0')
		strlcpy(j->backup_id, d->res->id, sizeof(j->backup_id));
	j->finished = time(NULL);
	j->raw_bytes = d->res->raw_bytes;
	j->stored_bytes = d->res->stored_bytes;
	j->state = d->ok ? JOB_SUCCEEDED : JOB_FAILED;
	if (d->error != NULL)
		strlcpy(j->error, d->error[0] != '\0' ? d->error : "failed", sizeof(j->error));
	if (a->active == NULL)
		jobs_save(a);
	pthread_mutex_unlock(&a->lock);
}

/* Job threads. */

/* A restore of latest or --at restores the backup picked now, whose ID the job reports. */
static int
run_restore(struct api *a, struct api_work *w)
{
	struct opened	o;

	if (w->req.which == NULL || strcmp(w->req.which, "latest") == 0 ||
	    w->req.at != NULL) {
		/* when nothing can be picked, the restore below fails and says why */
		if (job_open_backup(a->jr->r, &w->req, &o) == 0) {
			pthread_mutex_lock(&a->lock);
			strlcpy(w->job->backup_id, o.m->id, sizeof(w->job->backup_id));
			pthread_mutex_unlock(&a->lock);
			w->req.which = w->job->backup_id;
			w->req.at = NULL;
			job_close_backup(&o);
		}
	} else {
		pthread_mutex_lock(&a->lock);
		strlcpy(w->job->backup_id, w->req.which, sizeof(w->job->backup_id));
		pthread_mutex_unlock(&a->lock);
	}
	return jobrun_restore(a->jr, &w->req);
}

static void *
job_thread(void *arg)
{
	struct api_work		*w = arg;
	struct api		*a = w->api;
	struct job_result	 res;
	int			 rc;

	if (strcmp(w->job->kind, "backup") == 0)
		rc = jobrun_backup(a->jr, &res);
	else
		rc = run_restore(a, w);
	pthread_mutex_lock(&a->lock);
	if (w->job->state == JOB_RUNNING) {	/* jobrun did not report it */
		w->job->state = rc == EXIT_OK ? JOB_SUCCEEDED : JOB_FAILED;
		w->job->finished = time(NULL);
	}
	log_kv(LOGL_INFO, "control API: job ended", "job", w->job->id, "state",
	    state_names[w->job->state], NULL);
	/* before the slot is free: the next job is not taken for ours */
	a->active = NULL;
	jobs_save(a);
	pthread_mutex_unlock(&a->lock);
	control_job_end(a->ctl);
	free(w);
	/* as control.c's workers: the thread is detached, free OpenSSL's state now */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&a->lock);
	if (--a->threads == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Requests. */

static json_t *
error_body(const char *error, const char *message)
{
	return json_pack("{s:s, s:s}", "error", error, "message", message);
}

/* A restore's options from the body, checked as far as that needs no config. */
static int
restore_options(json_t *body, struct api_job *want, char *err, size_t errlen)
{
	time_t	dummy;
	size_t	i;

	if (get_str(body, "backup", want->want_backup, sizeof(want->want_backup)) == -1 ||
	    (want->want_backup[0] != '\0' && strcmp(want->want_backup, "latest") != 0 &&
	    backup_id_parse(want->want_backup, &dummy) == -1))
		return errf(err, errlen, "backup: expected \"latest\" or a backup ID "
		    "(20261124T030000Z-3fa94c)");
	if (get_str(body, "at", want->want_at, sizeof(want->want_at)) == -1 ||
	    (json_object_get(body, "at") != NULL && want->want_at[0] == '\0'))
		return errf(err, errlen, "at: expected a time");
	if (want->want_backup[0] != '\0' && want->want_at[0] != '\0')
		return errf(err, errlen, "give a backup or a time (at), not both");
	if (get_str(body, "database", want->want_database,
	    sizeof(want->want_database)) == -1)
		return errf(err, errlen, "database: expected a name of at most %zu bytes",
		    sizeof(want->want_database) - 1);
	if (json_object_get(body, "database") != NULL &&
	    (want->want_database[0] == '\0' || want->want_database[0] == '-'))
		return errf(err, errlen, "database: expected a name");
	for (i = 0; want->want_database[i] != '\0'; i++)
		if ((unsigned char)want->want_database[i] < 0x20 ||
		    want->want_database[i] == 0x7f)
			return errf(err, errlen, "database: control character in the name");
	return 0;
}

/* at in the definition's time zone; the slot is held, so the config is stable. */
static int
restore_at(struct api *a, const char *at, char *err, size_t errlen)
{
	time_t	t;

	if (at[0] == '\0')
		return 0;
	if (time_parse(at, config_get(a->jr->r->backup, "timezone"), &t, err,
	    errlen) == -1)
		return errprefix(err, errlen, "at");
	return 0;
}

/* The body: a JSON object of known members only, and its requestId. */
static json_t *
request_body(struct api_req *q, const char *const *members, char *request_id,
    char *err, size_t errlen)
{
	json_t		*body, *v;
	json_error_t	 jerr;
	const char	*key;
	size_t		 i;

	body = q->len == 0 ? json_object() : json_loadb(q->body, q->len, 0, &jerr);
	if (body == NULL || !json_is_object(body)) {
		errf(err, errlen, "the body is not a JSON object%s%s", body == NULL ?
		    ": " : "", body == NULL ? jerr.text : "");
		json_decref(body);
		return NULL;
	}
	json_object_foreach(body, key, v) {
		for (i = 0; members[i] != NULL; i++)
			if (strcmp(members[i], key) == 0)
				break;
		if (members[i] == NULL) {
			errf(err, errlen, "unknown member \"%s\"", key);
			json_decref(body);
			return NULL;
		}
	}
	if (get_str(body, "requestId", request_id, API_REQUEST_ID_MAX + 1) == -1 ||
	    (json_object_get(body, "requestId") != NULL &&
	    (request_id[0] == '\0' || strspn(request_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") != strlen(request_id)))) {
		errf(err, errlen, "requestId: expected up to %d of [A-Za-z0-9._:-]",
		    API_REQUEST_ID_MAX);
		json_decref(body);
		return NULL;
	}
	return body;
}

/*
 * Runs the job want describes in a new thread; the caller took the slot,
 * which the thread gives back (or this function, when it cannot start one).
 */
static json_t *
job_spawn(struct api *a, struct api_req *q, const char *kind, const char *request_id,
    const struct api_job *want, int *status)
{
	struct api_job	*j;
	struct api_work	*w;
	pthread_attr_t	 attr;
	pthread_t	 t;
	json_t		*out;
	int		 rc;

	pthread_mutex_lock(&a->lock);
	j = job_new(a, kind, "api", request_id[0] != '\0' ? request_id : NULL);
	strlcpy(j->want_backup, want->want_backup, sizeof(j->want_backup));
	strlcpy(j->want_at, want->want_at, sizeof(j->want_at));
	strlcpy(j->want_database, want->want_database, sizeof(j->want_database));
	w = xcalloc(1, sizeof(*w));
	w->api = a;
	w->job = j;
	w->req.which = j->want_backup[0] != '\0' ? j->want_backup : NULL;
	w->req.at = j->want_at[0] != '\0' ? j->want_at : NULL;
	w->req.database = j->want_database[0] != '\0' ? j->want_database : NULL;
	a->active = j;
	a->threads++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, job_thread, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		j->state = JOB_FAILED;
		j->finished = time(NULL);
		strlcpy(j->error, "cannot start a thread", sizeof(j->error));
		a->active = NULL;
		a->threads--;
		free(w);
	} else {
		log_kv(LOGL_INFO, "control API: job started", "job", j->id, "kind", kind,
		    "request_id", j->request_id, NULL);
		snprintf(q->location, sizeof(q->location), API_PREFIX "jobs/%s", j->id);
	}
	jobs_save(a);
	out = rc != 0 ? error_body("internal", "cannot start a thread") : job_json(j);
	pthread_mutex_unlock(&a->lock);
	if (rc != 0)
		control_job_end(a->ctl);
	*status = rc != 0 ? 500 : 202;
	return out;
}

/* POST backups or restores: *status and the answer. */
static json_t *
start_job(struct api *a, struct api_req *q, const char *kind, int *status)
{
	static const char *const backup_members[] = { "requestId", NULL };
	static const char *const restore_members[] = { "requestId", "backup", "at",
	    "database", NULL };
	struct api_job	 want, *j;
	json_t		*body, *out;
	char		 err[KB_ERRLEN], busy[400], desc[256], id[17];
	char		 request_id[API_REQUEST_ID_MAX + 1];
	int		 restore = strcmp(kind, "restore") == 0;

	memset(&want, 0, sizeof(want));
	if ((body = request_body(q, restore ? restore_members : backup_members,
	    request_id, err, sizeof(err))) == NULL ||
	    (restore && restore_options(body, &want, err, sizeof(err)) == -1)) {
		json_decref(body);
		*status = 400;
		return error_body("bad request", err);
	}
	json_decref(body);
	pthread_mutex_lock(&a->lock);
	if (request_id[0] != '\0' && (j = job_find(a, "requestId", request_id)) != NULL) {
		/* asked for again: the job that request started, not another */
		out = job_json(j);
		pthread_mutex_unlock(&a->lock);
		*status = 200;
		return out;
	}
	pthread_mutex_unlock(&a->lock);
	time_to_id(time(NULL), id);
	snprintf(desc, sizeof(desc), "%s%s%s (control API)", kind, restore ? "" : " ",
	    restore ? "" : id);
	if (control_job_begin(a->ctl, desc, busy, sizeof(busy)) == -1) {
		log_kv(LOGL_INFO, "control API: job refused", "request", kind, "reason", busy,
		    NULL);
		*status = 409;
		return error_body("busy", busy);
	}
	if (restore_at(a, want.want_at, err, sizeof(err)) == -1) {
		control_job_end(a->ctl);
		*status = 400;
		return error_body("bad request", err);
	}
	return job_spawn(a, q, kind, request_id, &want, status);
}

static json_t *
location_json(const struct jobrun_stored *st)
{
	json_t	*o = json_pack("{s:s}", "name", st->name), *m;

	if (!st->known) {
		json_object_set_new(o, "backups", json_null());
		json_object_set_new(o, "error", json_string("cannot be read"));
		return o;
	}
	json_object_set_new(o, "backups", json_integer((json_int_t)st->count));
	if (st->newest.id[0] == '\0') {
		json_object_set_new(o, "newest", json_null());
		return o;
	}
	m = json_pack("{s:s, s:I, s:I}", "id", st->newest.id,
	    "rawBytes", (json_int_t)st->newest.raw_bytes,
	    "storedBytes", (json_int_t)st->newest.stored_bytes);
	put_time(m, "startTime", st->newest.started);
	put_time(m, "completionTime", st->newest.finished);
	json_object_set_new(o, "newest", m);
	return o;
}

static json_t *
status_json(struct api *a)
{
	struct jobrun_stored	*st;
	const struct api_job	*j;
	json_t			*o, *locs, *running;
	char			 desc[256];
	time_t			 started, next;
	size_t			 i, n;

	o = json_pack("{s:s}", "definition", a->definition);
	if (control_job_running(a->ctl, desc, sizeof(desc), &started)) {
		running = json_pack("{s:s}", "description", desc);
		put_time(running, "startTime", started);
		pthread_mutex_lock(&a->lock);
		if (a->active != NULL)
			json_object_set_new(running, "job", json_string(a->active->id));
		pthread_mutex_unlock(&a->lock);
	} else
		running = json_null();
	json_object_set_new(o, "running", running);
	pthread_mutex_lock(&a->jr->metrics.lock);
	next = (time_t)a->jr->metrics.next_run;
	pthread_mutex_unlock(&a->jr->metrics.lock);
	if (next != 0)
		put_time(o, "nextRun", next);
	else
		json_object_set_new(o, "nextRun", json_null());
	pthread_mutex_lock(&a->lock);
	j = job_last(a, "backup");
	json_object_set_new(o, "lastBackup", j != NULL ? job_json(j) : json_null());
	j = job_last(a, "restore");
	json_object_set_new(o, "lastRestore", j != NULL ? job_json(j) : json_null());
	pthread_mutex_unlock(&a->lock);
	locs = json_array();
	n = jobrun_stored(a->jr, &st);
	for (i = 0; i < n; i++)
		json_array_append_new(locs, location_json(&st[i]));
	free(st);
	json_object_set_new(o, "locations", locs);
	return o;
}

static json_t *
get_job(struct api *a, const char *id, int *status)
{
	struct api_job	*j;
	json_t		*out;

	pthread_mutex_lock(&a->lock);
	if ((j = job_find(a, "id", id)) != NULL) {
		out = job_json(j);
		*status = 200;
	} else {
		out = error_body("not found", "no such job (the runner remembers the last "
		    "jobs only)");
		*status = 404;
	}
	pthread_mutex_unlock(&a->lock);
	return out;
}

/* The route's callbacks. */

static int
route_begin(void *arg, const struct http_request *rq, void **state)
{
	struct api	*a = arg;
	struct api_req	*q = xcalloc(1, sizeof(*q));

	q->authorized = api_token_ok(a->token, rq->authorization);
	*state = q;
	return 0;
}

static int
route_data(void *arg, void *state, const char *buf, size_t len)
{
	struct api_req	*q = state;

	if (!q->authorized || q->too_big)
		return 0;
	if (q->len + len > API_BODY_MAX) {
		q->too_big = 1;
		return 0;
	}
	q->body = xreallocarray(q->body, 1, q->len + len + 1);
	memcpy(q->body + q->len, buf, len);
	q->len += len;
	return 0;
}

/* What path and method ask for; NULL with *status when neither fits. */
static json_t *
dispatch(struct api *a, struct api_req *q, const struct http_request *rq, int *status,
    const char **allow)
{
	const char	*s = rq->suffix;
	int		 get = strcmp(rq->method, "GET") == 0 ||
			    strcmp(rq->method, "HEAD") == 0;
	int		 post = strcmp(rq->method, "POST") == 0;

	*allow = NULL;
	if (strcmp(s, "status") == 0 && get)
		return status_json(a);
	if (strcmp(s, "backups") == 0 && post)
		return start_job(a, q, "backup", status);
	if (strcmp(s, "restores") == 0 && post)
		return start_job(a, q, "restore", status);
	if (startswith(s, "jobs/") && strchr(s + 5, '/') == NULL && get)
		return get_job(a, s + 5, status);
	if (strcmp(s, "status") == 0 || startswith(s, "jobs/"))
		*allow = "GET, HEAD";
	else if (strcmp(s, "backups") == 0 || strcmp(s, "restores") == 0)
		*allow = "POST";
	*status = *allow != NULL ? 405 : 404;
	return error_body(*allow != NULL ? "method not allowed" : "not found", rq->path);
}

static int
route_finish(void *arg, void *state, const struct http_request *rq,
    struct http_reply *rep)
{
	struct api	*a = arg;
	struct api_req	*q = state;
	const char	*allow;
	json_t		*out;
	int		 status = 200, h = 0;

	if (!q->authorized) {
		log_kv(LOGL_WARN, "control API: refused a request without the right token",
		    "method", rq->method, "path", rq->path, NULL);
		status = 401;
		out = error_body("unauthorized", "expected Authorization: Bearer TOKEN "
		    "([metrics] api_token)");
		rep->header_names[h] = "WWW-Authenticate";
		rep->header_values[h++] = "Bearer realm=\"kbackup-runner\"";
	} else if (q->too_big) {
		status = 413;
		out = error_body("too large", "the body is larger than 16 KiB");
	} else {
		out = dispatch(a, q, rq, &status, &allow);
		if (allow != NULL) {
			rep->header_names[h] = "Allow";
			rep->header_values[h++] = allow;
		}
		if (q->location[0] != '\0') {
			rep->header_names[h] = "Location";
			rep->header_values[h++] = q->location;
		}
	}
	q->reply = xjson_dumps(out, JSON_COMPACT);
	rep->status = status;
	rep->content_type = "application/json";
	rep->body = q->reply;
	rep->len = strlen(q->reply);
	return 0;
}

static void
route_done(void *arg, void *state, int ok)
{
	struct api_req	*q = state;

	free(q->body);
	free(q->reply);
	free(q);
}

static const struct http_route_ops api_route = {
	route_begin, route_data, route_finish, route_done
};

int
api_start(struct api **ap, struct http_server *http, struct control *ctl,
    struct jobrun *jr, char *err, size_t errlen)
{
	const char	*token = config_get(config_section(jr->r->cfg, "metrics"),
			    "api_token");
	struct api	*a;

	*ap = NULL;
	if (token == NULL)
		return 0;
	if (http == NULL)
		return errf(err, errlen, "[metrics] api_token: the control API needs "
		    "[metrics] listen");
	a = xcalloc(1, sizeof(*a));
	a->http = http;
	a->ctl = ctl;
	a->jr = jr;
	a->definition = xstrdup(jr->r->base);
	a->token = xstrdup(token);
	a->jobs_path = path_join(jr->r->state_dir, JOBS_FILE);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->idle, NULL);
	jobs_load(a);
	if (http_route_add(http, API_PREFIX, &api_route, a, err, errlen) == -1) {
		api_stop(a);
		return -1;
	}
	jobrun_set_done(jr, on_done, a);
	log_kv(LOGL_INFO, "control API served", "path", API_PREFIX, NULL);
	*ap = a;
	return 0;
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	http_route_remove(a->http, API_PREFIX);
	pthread_mutex_lock(&a->lock);
	while (a->threads > 0)
		pthread_cond_wait(&a->idle, &a->lock);
	pthread_mutex_unlock(&a->lock);
	jobrun_set_done(a->jr, NULL, NULL);
	freezero(a->token, strlen(a->token));
	free(a->jobs_path);
	free(a->definition);
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
