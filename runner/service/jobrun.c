/*
 * jobrun: hooks, notifications, metrics and prune around a job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/service/hooks.h"
#include "runner/service/jobrun.h"
#include "runner/wal/pitr.h"

/* What one job needs from the wrapper, whatever the job. */
struct jobrun_job {
	const char		*name;		/* "backup", "restore" */
	enum metrics_job	 kind;
	struct job_result	 res;
	int			(*run)(struct jobrun *, struct jobrun_job *);
	const struct restore_request *req;
	struct catalog		*cats;		/* a backup's, kept for its prune and metrics */
};

void
jobrun_init(struct jobrun *jr, struct runner *r, time_t start)
{
	memset(jr, 0, sizeof(*jr));
	jr->r = r;
	pthread_mutex_init(&jr->lock, NULL);
	metrics_init(&jr->metrics, r->name, r->namespace_, r->engine->desc->name, start);
	/* method = physical, wal_method = push: wal-push leaves its counts in state_dir. */
	if (pitr_on(r) && strcmp(config_get(r->engine_section, "wal_method"), "push") == 0)
		metrics_wal_from_status(&jr->metrics, r->state_dir);
	notify_tail_init(&jr->tail);
	log_set_hook(notify_tail_hook, &jr->tail);
}

void
jobrun_free(struct jobrun *jr)
{
	log_set_hook(NULL, NULL);
	notify_tail_free(&jr->tail);
	metrics_free(&jr->metrics);
	free(jr->stored);
	pthread_mutex_destroy(&jr->lock);
}

/* Forgets the lines of the previous job. */
static void
tail_clear(struct notify_tail *t)
{
	size_t	i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < NOTIFY_TAIL_LINES; i++) {
		free(t->lines[i]);
		t->lines[i] = NULL;
	}
	t->next = 0;
	pthread_mutex_unlock(&t->lock);
}

/* The metrics of what the first location holds, from its catalog. */
static void
count_catalog(struct jobrun *jr, const struct catalog *c)
{
	const struct catalog_entry	*e;

	metrics_set_backup_counts(&jr->metrics, catalog_count(c, CATALOG_OK),
	    catalog_count(c, CATALOG_DAMAGED), catalog_count_future(c));
	if ((e = catalog_latest(c)) != NULL)
		metrics_set_last_success(&jr->metrics, e->rec.finished);
}

/* What a location holds, from its catalog (NULL: it could not be read). */
static void
stored_of(const struct location *loc, const struct catalog *c, struct jobrun_stored *st)
{
	const struct catalog_entry	*e;

	memset(st, 0, sizeof(*st));
	strlcpy(st->name, loc->section->label != NULL ? loc->section->label : "default",
	    sizeof(st->name));
	if (c == NULL)
		return;
	st->known = 1;
	st->count = catalog_count(c, CATALOG_OK);
	if ((e = catalog_latest(c)) != NULL) {
		strlcpy(st->newest.id, e->id, sizeof(st->newest.id));
		st->newest.started = e->rec.started;
		st->newest.finished = e->rec.finished;
		st->newest.raw_bytes = e->rec.raw_bytes;
		st->newest.stored_bytes = e->rec.stored_bytes;
	}
}

static void
stored_set(struct jobrun *jr, struct jobrun_stored *st, size_t n)
{
	pthread_mutex_lock(&jr->lock);
	free(jr->stored);
	jr->stored = st;
	jr->nstored = n;
	pthread_mutex_unlock(&jr->lock);
}

void
jobrun_seed(struct jobrun *jr)
{
	struct jobrun_stored	*st;
	struct catalog		 c;
	char			 err[KB_ERRLEN];
	size_t			 i, n = jr->r->nlocations;

	st = xcalloc(n > 0 ? n : 1, sizeof(*st));
	for (i = 0; i < n; i++) {
		if (catalog_open(jr->r, &jr->r->locations[i], 0, &c, err,
		    sizeof(err)) == -1) {
			log_kv(LOGL_WARN, "cannot count the stored backups", "location",
			    jr->r->locations[i].desc, "error", err, NULL);
			stored_of(&jr->r->locations[i], NULL, &st[i]);
			continue;
		}
		if (i == 0)
			count_catalog(jr, &c);
		stored_of(&jr->r->locations[i], &c, &st[i]);
		catalog_close(&c);
	}
	stored_set(jr, st, n);
}

size_t
jobrun_stored(struct jobrun *jr, struct jobrun_stored **out)
{
	size_t	n;

	pthread_mutex_lock(&jr->lock);
	n = jr->nstored;
	*out = xcalloc(n > 0 ? n : 1, sizeof(**out));
	if (n > 0)
		memcpy(*out, jr->stored, n * sizeof(**out));
	pthread_mutex_unlock(&jr->lock);
	return n;
}

void
jobrun_set_done(struct jobrun *jr, jobrun_done_fn fn, void *arg)
{
	pthread_mutex_lock(&jr->lock);
	jr->done = fn;
	jr->done_arg = arg;
	pthread_mutex_unlock(&jr->lock);
}

static void
notify_config_of(const struct runner *r, struct notify_config *nc)
{
	const struct config_section	*s = config_section(r->cfg, "notify");
	const char			*on = config_get(s, "on");

	memset(nc, 0, sizeof(*nc));
	nc->webhook = config_get(s, "webhook");
	nc->always = on != NULL && strcmp(on, "always") == 0;
	nc->ping_start = config_get(s, "ping_start");
	nc->ping_success = config_get(s, "ping_success");
	nc->ping_failure = config_get(s, "ping_failure");
}

static int
run_hook(struct jobrun *jr, const char *which, const struct hook_job *hj)
{
	const struct config_section	*s = config_section(jr->r->cfg, "hooks");
	char				 err[KB_ERRLEN];
	struct hook_job			 job = *hj;

	job.timeout = config_get_duration(s, "timeout");
	if (job.timeout < 0)
		job.timeout = 0;
	if (hooks_run(which, config_get(s, which), &job, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "hook failed", "hook", which, "error", err, NULL);
		return -1;
	}
	return 0;
}

/*
 * After a successful backup, and only then: prune.  The one call site of
 * prune for --once, the schedule and trigger.  A failed prune leaves the
 * backup standing but makes the job's exit status 1, so that a timer's
 * failure shows that storage is no longer being cleaned.
 */
static int
after_backup(struct jobrun *jr, struct catalog *cats)
{
	static const struct prune_request	pr = { 0, 0 };

	if (job_prune(jr->r, cats, &pr) != EXIT_OK) {
		log_kv(LOGL_ERROR, "prune failed; the backup stands", NULL);
		return EXIT_JOB;
	}
	return EXIT_OK;
}


static void
textfile(struct jobrun *jr)
{
	const char	*path = config_get(config_section(jr->r->cfg, "metrics"), "textfile");
	char		 err[KB_ERRLEN];

	if (path == NULL || *path == '\0')
		return;
	if (metrics_write_textfile(&jr->metrics, path, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "metrics textfile not written", "path", path, "error", err,
		    NULL);
}

/* After a backup and its prune: what every location holds, from the job's catalogs. */
static void
stored_after(struct jobrun *jr, struct catalog *cats)
{
	struct jobrun_stored	*st;
	size_t			 i, n = jr->r->nlocations;

	st = xcalloc(n > 0 ? n : 1, sizeof(*st));
	for (i = 0; i < n; i++)
		stored_of(&jr->r->locations[i], cats[i].r != NULL ? &cats[i] : NULL,
		    &st[i]);
	stored_set(jr, st, n);
}

static void
tell_done(struct jobrun *jr, struct jobrun_job *j, int ok, const char *error)
{
	struct jobrun_done	 done;
	jobrun_done_fn		 fn;
	void			*arg;

	pthread_mutex_lock(&jr->lock);
	fn = jr->done;
	arg = jr->done_arg;
	pthread_mutex_unlock(&jr->lock);
	if (fn == NULL)
		return;
	done.job = j->name;
	done.ok = ok;
	done.res = &j->res;
	done.error = ok ? NULL : error;
	fn(arg, &done);
}

static void
report(struct jobrun *jr, struct jobrun_job *j, int ok, double duration,
    const char *error)
{
	struct runner		*r = jr->r;
	struct notify_config	 nc;
	struct notify_event	 ev;
	char			*tail;

	metrics_job_done(&jr->metrics, j->kind, ok, duration, time(NULL), error);
	if (ok && j->kind == METRICS_JOB_BACKUP) {
		metrics_set_backup_bytes(&jr->metrics, j->res.raw_bytes, j->res.stored_bytes);
		/* After the backup and its prune, from the same catalogs. */
		if (j->cats != NULL && j->cats[0].r != NULL)
			count_catalog(jr, &j->cats[0]);
		if (j->cats != NULL)
			stored_after(jr, j->cats);
	}
	notify_config_of(r, &nc);
	memset(&ev, 0, sizeof(ev));
	ev.name = r->name;
	ev.namespace = r->namespace_;
	ev.engine = r->engine->desc->name;
	ev.job = j->name;
	ev.success = ok;
	ev.backup_id = j->res.id[0] != '\0' ? j->res.id : NULL;
	ev.raw_bytes = j->res.raw_bytes;
	ev.stored_bytes = j->res.stored_bytes;
	ev.duration = duration;
	ev.started = j->res.started;
	ev.error = ok ? NULL : error;
	tail = ok ? NULL : notify_tail_text(&jr->tail);
	notify_job_end(&nc, &ev, tail);
	free(tail);
	textfile(jr);
	tell_done(jr, j, ok, error);
}

static int
jobrun_run(struct jobrun *jr, struct jobrun_job *j)
{
	struct runner		*r = jr->r;
	struct notify_config	 nc;
	struct hook_job		 hj;
	char			 error[256];
	double			 t0 = monotonic_seconds(), duration;
	int			 rc;

	log_clear_last_error();
	tail_clear(&jr->tail);
	memset(&j->res, 0, sizeof(j->res));
	j->res.started = time(NULL);
	notify_config_of(r, &nc);
	notify_job_start(&nc);
	memset(&hj, 0, sizeof(hj));
	hj.job = j->name;
	hj.name = r->name;
	hj.namespace = r->namespace_;
	hj.engine = r->engine->desc->name;
	error[0] = '\0';
	if (run_hook(jr, "before", &hj) == -1) {
		strlcpy(error, "hook before failed; the job did not run", sizeof(error));
		rc = EXIT_JOB;
	} else {
		rc = j->run(jr, j);
		if (rc != EXIT_OK) {
			if (j->res.error[0] != '\0')
				strlcpy(error, j->res.error, sizeof(error));
			else
				log_last_error(error, sizeof(error));
		}
		hj.backup_id = j->res.id[0] != '\0' ? j->res.id : NULL;
		hj.result = rc == EXIT_OK ? "success" : "failure";
		hj.error = rc == EXIT_OK ? NULL : error;
		hj.raw_bytes = j->res.raw_bytes;
		hj.stored_bytes = j->res.stored_bytes;
		hj.duration = monotonic_seconds() - t0;
		/* The undo of before: a failure is logged, the job's result stands. */
		run_hook(jr, "after", &hj);
	}
	duration = monotonic_seconds() - t0;
	if (rc != EXIT_OK) {
		hj.result = "failure";
		hj.error = error;
		hj.duration = duration;
		run_hook(jr, "on_failure", &hj);
	}
	report(jr, j, rc == EXIT_OK, duration, error);
	return rc;
}

static int
run_backup(struct jobrun *jr, struct jobrun_job *j)
{
	int	rc;

	j->cats = catalogs_new(jr->r);
	rc = job_backup(jr->r, j->cats, &j->res);
	if (rc == EXIT_OK)
		rc = after_backup(jr, j->cats);
	return rc;
}

static int
run_restore(struct jobrun *jr, struct jobrun_job *j)
{
	return job_restore(jr->r, j->req);
}

int
jobrun_backup(struct jobrun *jr, struct job_result *res)
{
	struct jobrun_job	j;
	int			rc;

	memset(&j, 0, sizeof(j));
	j.name = "backup";
	j.kind = METRICS_JOB_BACKUP;
	j.run = run_backup;
	rc = jobrun_run(jr, &j);
	catalogs_close(jr->r, j.cats);
	if (res != NULL)
		*res = j.res;
	return rc;
}

int
jobrun_restore(struct jobrun *jr, const struct restore_request *req)
{
	struct jobrun_job	j;

	memset(&j, 0, sizeof(j));
	j.name = "restore";
	j.kind = METRICS_JOB_RESTORE;
	j.run = run_restore;
	j.req = req;
	return jobrun_run(jr, &j);
}
