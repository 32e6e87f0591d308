/*
 * backup: one backup of the definition to every location.
 *
 * Per location, before anything is written: the catalog (one listing and
 * the index), what a killed job of this runner left is removed (the lock is
 * held), and the job's marker is written -- refused when another runner's
 * live marker is there.  The dump tool's exit status decides: a failed dump
 * aborts every upload and nothing is committed.  Data first, manifest last,
 * each created only where absent: a backup exists once its manifest does,
 * and never replaces another.  In retained mode the backup is labelled from
 * the catalog before its manifest is written; the manifest records the
 * labels and the index follows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/catalog/layout.h"
#include "runner/catalog/record.h"
#include "runner/cmd/jobs.h"
#include "runner/schema.h"
#include "runner/stream/keys.h"
#include "runner/stream/pipeline.h"
#include "runner/wal/pitr.h"

struct backup_job {
	struct runner		*r;
	struct job_result	*res;
	struct catalog		*cats;		/* one per location, opened by the caller or here */
	struct keyring		*keyrings;
	struct pipeline_sink	*sinks;
	char			**keys;
	size_t			 nmarked;	/* locations whose marker is written */
	struct marker		 marker;
	struct label_rules	 rules;
	int			 single;
	char			 tool_version[256];
	json_t			*details;	/* the engine's, for the manifest */
};

static void
backup_job_free(struct backup_job *b)
{
	size_t	i;

	for (i = 0; i < b->nmarked; i++)
		catalog_job_end(&b->cats[i], &b->marker);
	for (i = 0; i < b->r->nlocations; i++) {
		keyring_free(&b->keyrings[i]);
		free(b->keys[i]);
	}
	free(b->keyrings);
	free(b->sinks);
	free(b->keys);
	rules_free(&b->rules);
	json_decref(b->details);
}

static void
marker_fill(struct backup_job *b)
{
	struct marker	*m = &b->marker;

	memset(m, 0, sizeof(*m));
	strlcpy(m->id, b->res->id, sizeof(m->id));
	strlcpy(m->runner_id, b->r->runner_id, sizeof(m->runner_id));
	if (gethostname(m->host, sizeof(m->host)) == -1)
		strlcpy(m->host, "unknown", sizeof(m->host));
	m->host[sizeof(m->host) - 1] = '\0';
	m->pid = (long)getpid();
	m->started = b->res->started;
}

/* Catalog, own leftovers and marker of location i. */
static int
backup_claim(struct backup_job *b, size_t i, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	struct catalog	*c = &b->cats[i];
	size_t		 deleted = 0, planned = 0;

	if (c->r == NULL && catalog_open(r, &r->locations[i], 0, c, err, errlen) == -1)
		return -1;
	if (catalog_sweep(c, CATALOG_SWEEP_OWN, 0, &deleted, &planned) > 0)
		log_kv(LOGL_WARN, "what a killed job left was not all removed", "location",
		    r->locations[i].desc, NULL);
	if (catalog_job_begin(c, &b->marker, err, errlen) == -1)
		return -1;
	b->nmarked = i + 1;
	return 0;
}

static int
backup_prepare(struct backup_job *b, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	size_t		 i;

	b->keyrings = xcalloc(r->nlocations, sizeof(*b->keyrings));
	b->sinks = xcalloc(r->nlocations, sizeof(*b->sinks));
	b->keys = xcalloc(r->nlocations, sizeof(*b->keys));
	if (!b->single && rules_from_config(config_section(r->cfg, "retention"), &b->rules,
	    err, errlen) == -1)
		return -1;
	marker_fill(b);
	for (i = 0; i < r->nlocations; i++) {
		if (keyring_load(r->locations[i].section, &b->keyrings[i], err, errlen) == -1)
			return -1;
		if (backup_claim(b, i, err, errlen) == -1)
			return -1;
		b->keys[i] = layout_part_key(r->base, b->res->id, 0, b->single);
		b->sinks[i].st = r->locations[i].st;
		b->sinks[i].key = b->keys[i];
		b->sinks[i].put.if_absent = 1;
		b->sinks[i].secret = keyring_current(&b->keyrings[i]);
	}
	return 0;
}

/* The markers are rewritten while the dump runs (progress ticks in our thread). */
static void
backup_heartbeat(void *arg)
{
	struct backup_job	*b = arg;
	size_t			 i;

	for (i = 0; i < b->nmarked; i++)
		catalog_job_heartbeat(&b->cats[i], &b->marker);
}

/* Runs the dump through the pipeline; 0 only if both the dump and the pipeline succeeded. */
static int
backup_stream(struct backup_job *b, char *err, size_t errlen)
{
	struct runner		*r = b->r;
	struct engine_job	 job;
	char			 perr[KB_ERRLEN];
	struct progress		 prog;
	int			 fd, zstd, level, prc, drc;

	compression_parse(config_get(r->backup, "compression"), &zstd, &level);
	runner_engine_job(r, &job, NULL);
	if (r->engine->tool_version != NULL)
		r->engine->tool_version(&job, b->tool_version, sizeof(b->tool_version));
	if (r->engine->backup_begin(&job, &fd, err, errlen) == -1)
		return -1;
	perr[0] = '\0';
	progress_start(&prog, PROGRESS_BACKUP, 0);
	progress_set_heartbeat(&prog, backup_heartbeat, b, MARKER_HEARTBEAT * 1000);
	prc = pipeline_backup(fd, zstd, level, (int)config_get_uint(r->backup,
	    "compression_threads"), b->sinks, r->nlocations, &prog, &b->res->raw_bytes, perr,
	    sizeof(perr));
	drc = r->engine->backup_end(&job, prc == -1, err, errlen);
	b->details = job.details;
	progress_finish(&prog, prc == 0 && drc == 0);
	if (drc == -1 && prc == 0)
		pipeline_abort(b->sinks, r->nlocations);
	if (prc == -1)
		return errf(err, errlen, "%s", perr);
	if (drc == -1)
		return errprefix(err, errlen, "the dump failed");
	return 0;
}

static void
record_fill(struct backup_job *b, size_t i, struct backup_record *rec)
{
	struct runner		*r = b->r;
	const char		*compression = config_get(r->backup, "compression");
	struct record_part	 part;
	char			 host[256];

	memset(rec, 0, sizeof(*rec));
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "unknown", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	rec->format = RECORD_FORMAT;
	strlcpy(rec->id, b->res->id, sizeof(rec->id));
	rec->name = xstrdup(r->name);
	rec->namespace_ = xstrdup(r->namespace_);
	rec->engine = xstrdup(r->engine->desc->name);
	rec->tool_version = xstrdup(b->tool_version);
	rec->mode = xstrdup(b->single ? "single" : "retained");
	rec->started = b->res->started;
	rec->finished = b->res->finished;
	rec->compression = strcmp(compression, "zstd") == 0 ? xstrdup("zstd:3") :
	    xstrdup(compression);
	rec->runner_version = xstrdup(KBACKUP_VERSION);
	rec->host = xstrdup(host);
	rec->runner_id = xstrdup(r->runner_id);
	rec->details = b->details != NULL ? json_incref(b->details) : NULL;
	memset(&part, 0, sizeof(part));
	part.name = "data";
	part.key = b->keys[i];
	part.raw_bytes = b->res->raw_bytes;
	part.stored_bytes = b->sinks[i].stored;
	strlcpy(part.sha256, b->sinks[i].sha256, sizeof(part.sha256));
	part.container = b->sinks[i].info;
	record_add_part(rec, &part);
}

/*
 * Deletes the previous single backup's data.  Its key comes from a manifest
 * read back from storage: only a key of this definition's single/ is taken.
 */
static void
single_remove_old(struct backup_job *b, struct location *loc, const char *key)
{
	char	 err[KB_ERRLEN], *dir;
	int	 ours;

	dir = layout_single_prefix(b->r->base);
	ours = startswith(key, dir) && strstr(key, "..") == NULL;
	free(dir);
	if (!ours) {
		log_kv(LOGL_WARN, "previous single backup not removed: its key is outside "
		    "single/", "key", key, NULL);
		return;
	}
	if (storage_remove_one(loc->st, key, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "previous single backup not removed", "key", key, "error",
		    err, NULL);
	else
		log_kv(LOGL_INFO, "previous single backup removed", "key", key, NULL);
}

/* Single mode: switch single/manifest.json to the new data, then drop the old data. */
static int
single_switch(struct backup_job *b, size_t i, const struct backup_record *rec, char *err,
    size_t errlen)
{
	struct location		*loc = &b->r->locations[i];
	struct backup_record	 old;
	char			*key, *text;
	int			 missing = 0, have_old, rc;
	size_t			 j;

	have_old = catalog_single_read(b->r, loc, &old, &missing, err, errlen) == 0;
	key = layout_single_manifest_key(b->r->base);
	text = record_to_text(rec);
	rc = storage_put_buffer(loc->st, key, text, strlen(text), NULL, NULL, err, errlen);
	free(text);
	free(key);
	if (rc == 0 && have_old)
		for (j = 0; j < old.nparts; j++)
			if (strcmp(old.parts[j].key, b->keys[i]) != 0)
				single_remove_old(b, loc, old.parts[j].key);
	if (have_old)
		record_free(&old);
	return rc;
}

/* Labels the new backup from location i's catalog, into rec. */
static int
backup_label(struct backup_job *b, size_t i, struct backup_record *rec, char *err,
    size_t errlen)
{
	struct runner			*r = b->r;
	struct labels_index		 view;
	const struct labels_backup	*lb;
	char				*names = NULL, *next;
	size_t				 j;
	int				 rc;

	catalog_labels(&b->cats[i], &view);
	rc = labels_assign(&view, &b->rules, config_get(r->backup, "timezone"), rec->id,
	    rec->finished, err, errlen);
	if (rc == -1) {
		labels_index_free(&view);
		return errprefix(err, errlen, "labelling");
	}
	lb = labels_index_find(&view, rec->id);
	for (j = 0; j < lb->nlabels; j++) {
		record_add_label(rec, lb->labels[j].name, lb->labels[j].expires);
		next = xasprintf("%s%s%s", names != NULL ? names : "", j > 0 ? " " : "",
		    lb->labels[j].name);
		free(names);
		names = next;
	}
	log_kv(LOGL_INFO, "labelled", "id", rec->id, "location", r->locations[i].desc,
	    "labels", names != NULL ? names : "", NULL);
	free(names);
	labels_index_free(&view);
	return 0;
}

static int
backup_commit_one(struct backup_job *b, size_t i, char *err, size_t errlen)
{
	struct backup_record	rec;
	int			rc;

	record_fill(b, i, &rec);
	if (b->single)
		rc = single_switch(b, i, &rec, err, errlen);
	else if ((rc = backup_label(b, i, &rec, err, errlen)) == 0)
		rc = catalog_commit(&b->cats[i], &rec, err, errlen);
	if (rc == -1 && b->single)
		errprefix(err, errlen, "writing the manifest to %s", b->r->locations[i].desc);
	record_free(&rec);
	return rc;
}

static int
backup_commit(struct backup_job *b, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	size_t		 i;

	/* A physical base backup is committed once the WAL it needs is archived. */
	if (b->details != NULL && pg_physical_is(b->details) &&
	    wal_wait_archived(r, b->details, err, errlen) == -1) {
		pipeline_abort(b->sinks, r->nlocations);
		return -1;
	}
	if (pipeline_commit(b->sinks, r->nlocations, err, errlen) == -1)
		return -1;
	b->res->finished = time(NULL);
	for (i = 0; i < r->nlocations; i++)
		if (backup_commit_one(b, i, err, errlen) == -1)
			return -1;
	return 0;
}

int
job_backup(struct runner *r, struct catalog *cats, struct job_result *res)
{
	struct backup_job	b;
	char			err[KB_ERRLEN], raw[16], stored[16], secs[32], rss[24];
	int			rc = EXIT_JOB;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.res = res;
	b.cats = cats;
	b.single = strcmp(config_get(r->backup, "mode"), "single") == 0;
	res->started = time(NULL);
	backup_id_new(res->started, res->id);
	log_kv(LOGL_INFO, "backup started", "id", res->id, "engine", r->engine->desc->name,
	    "mode", b.single ? "single" : "retained", NULL);
	err[0] = '\0';
	if (backup_prepare(&b, err, sizeof(err)) == -1 ||
	    backup_stream(&b, err, sizeof(err)) == -1 ||
	    backup_commit(&b, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "backup failed", "id", res->id, "error", err, NULL);
		strlcpy(res->error, err, sizeof(res->error));
		goto out;
	}
	res->stored_bytes = b.sinks[0].stored;
	format_bytes(res->raw_bytes, raw);
	format_bytes(res->stored_bytes, stored);
	snprintf(secs, sizeof(secs), "%lld", (long long)(res->finished - res->started));
	snprintf(rss, sizeof(rss), "%ld", peak_rss_kib());
	log_kv(LOGL_INFO, "backup committed", "id", res->id, "raw", raw, "stored", stored,
	    "seconds", secs, "peak_rss_kib", rss, NULL);
	rc = EXIT_OK;
out:
	backup_job_free(&b);
	return rc;
}
