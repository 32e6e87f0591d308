/*
 * backup: one backup of the definition to every location.
 *
 * Per location, before anything is written: the catalog (one listing and
 * the index), what a killed job of this runner left is removed (the lock is
 * held), and the job's marker is written -- refused when another runner's
 * live marker is there.  The engine's preflight and its list of parts
 * (postgres with databases =: the globals and one dump per database) come
 * before that, so a backup it refuses writes nothing at all.  Each part is
 * one object, streamed in turn and committed once its dump tool has said
 * it succeeded; a failed part aborts its uploads, the parts already stored
 * are removed (this job's own, its marker still live), and nothing is
 * committed.  Data first, manifest last, each created only where absent: a
 * backup exists once its manifest does, and never replaces another.  In retained mode the backup is labelled from
 * the catalog before its manifest is written; the manifest records the
 * labels and the index follows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/catalog/layout.h"
#include "runner/catalog/record.h"
#include "runner/cmd/jobs.h"
#include "runner/schema.h"
#include "runner/stream/compress.h"
#include "runner/stream/keys.h"
#include "runner/stream/pipeline.h"
#include "runner/wal/pitr.h"

struct backup_job {
	struct runner		*r;
	struct job_result	*res;
	struct catalog		*cats;		/* one per location, opened by the caller or here */
	struct keyring		*keyrings;
	struct pipeline_sink	*sinks;
	struct engine_job	 job;		/* the engine's, from preflight to the last part */
	char			**parts;	/* the engine's names, or NULL: one stream */
	size_t			 nparts;
	struct record_part	**done;		/* per location: the parts stored and committed */
	size_t			 ndone;
	size_t			 nmarked;	/* locations whose marker is written */
	struct marker		 marker;
	struct label_rules	 rules;
	int			 single;
	char			 tool_version[256];
	int			 autolevel_on;	/* compression = zstd:auto */
	struct autolevel	 autolevel;	/* its level, carried from part to part */
};

static void
backup_job_free(struct backup_job *b)
{
	size_t	i, n;

	for (i = 0; i < b->nmarked; i++)
		catalog_job_end(&b->cats[i], &b->marker);
	for (i = 0; i < b->r->nlocations; i++) {
		keyring_free(&b->keyrings[i]);
		for (n = 0; b->done != NULL && n < b->ndone; n++) {
			free(b->done[i][n].name);
			free(b->done[i][n].key);
		}
		if (b->done != NULL)
			free(b->done[i]);
	}
	if (b->r->engine->release != NULL)
		b->r->engine->release(&b->job);
	json_decref(b->job.details);
	words_free(b->parts);
	free(b->done);
	free(b->keyrings);
	free(b->sinks);
	rules_free(&b->rules);
}

static void
marker_fill(struct backup_job *b)
{
	struct marker	*m = &b->marker;

	memset(m, 0, sizeof(*m));
	strlcpy(m->id, b->res->id, sizeof(m->id));
	strlcpy(m->runner_id, b->r->runner_id, sizeof(m->runner_id));
	host_name(m->host, sizeof(m->host), "unknown");
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

/* What the engine says before anything is written: whether it can, and which parts. */
static int
backup_plan(struct backup_job *b, char *err, size_t errlen)
{
	const struct engine_ops	*e = b->r->engine;
	char			 n[24];

	runner_engine_job(b->r, &b->job, NULL);
	if (e->preflight != NULL && e->preflight(&b->job, err, errlen) == -1)
		return errprefix(err, errlen, "refused before anything was written");
	if (e->parts != NULL && e->parts(&b->job, &b->parts, err, errlen) == -1)
		return -1;
	for (b->nparts = 0; b->parts != NULL && b->parts[b->nparts] != NULL; b->nparts++)
		;
	if (b->parts != NULL && b->nparts == 0)
		return errf(err, errlen, "the engine named no part to back up");
	if (b->nparts > RECORD_PARTS_MAX)
		return errf(err, errlen, "%zu parts: a backup holds at most %d", b->nparts,
		    RECORD_PARTS_MAX);
	if (b->parts == NULL)
		b->nparts = 1;
	else {
		snprintf(n, sizeof(n), "%zu", b->nparts);
		log_kv(LOGL_INFO, "backup of several parts", "id", b->res->id, "parts", n,
		    NULL);
	}
	return 0;
}

static int
backup_prepare(struct backup_job *b, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	size_t		 i;

	b->keyrings = xcalloc(r->nlocations, sizeof(*b->keyrings));
	b->sinks = xcalloc(r->nlocations, sizeof(*b->sinks));
	if (!b->single && rules_from_config(config_section(r->cfg, "retention"), &b->rules,
	    err, errlen) == -1)
		return -1;
	marker_fill(b);
	for (i = 0; i < r->nlocations; i++)
		if (keyring_load(r->locations[i].section, &b->keyrings[i], err, errlen) == -1)
			return -1;
	if (backup_plan(b, err, errlen) == -1)
		return -1;
	b->done = xcalloc(r->nlocations, sizeof(*b->done));
	for (i = 0; i < r->nlocations; i++) {
		b->done[i] = xcalloc(b->nparts, sizeof(**b->done));
		if (backup_claim(b, i, err, errlen) == -1)
			return -1;
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

/* Sinks for part n: its key in every location, created only where absent. */
static void
sinks_for(struct backup_job *b, const char *key)
{
	struct runner	*r = b->r;
	size_t		 i;

	memset(b->sinks, 0, r->nlocations * sizeof(*b->sinks));
	for (i = 0; i < r->nlocations; i++) {
		b->sinks[i].st = r->locations[i].st;
		b->sinks[i].key = key;
		catalog_put_init(r, &b->sinks[i].put);
		b->sinks[i].put.if_absent = 1;
		b->sinks[i].secret = keyring_current(&b->keyrings[i]);
	}
}

static void	autolevel_log(const struct autolevel *);

/* Part n's dump through the pipeline, committed; 0 only if the dump and every upload did. */
static int
backup_part(struct backup_job *b, size_t n, struct progress *prog, int zstd, int level,
    char *err, size_t errlen)
{
	struct runner		*r = b->r;
	const char		*name = b->parts != NULL ? b->parts[n] : ENGINE_PART_DATA;
	char			*key, perr[KB_ERRLEN], what[ENGINE_PART_NAME_MAX + 16];
	uint64_t		 raw = 0;
	int			 fd, prc, drc, threads;
	size_t			 i;

	key = layout_part_key(r->base, b->res->id, n, b->single);
	sinks_for(b, key);
	b->job.part = b->parts != NULL ? name : NULL;
	engine_part_describe(name, what, sizeof(what));
	if (b->parts != NULL)
		log_kv(LOGL_INFO, "backing up", "part", what, NULL);
	if (r->engine->backup_begin(&b->job, &fd, err, errlen) == -1) {
		free(key);
		return b->parts != NULL ? errprefix(err, errlen, "%s", what) : -1;
	}
	perr[0] = '\0';
	threads = (int)config_get_uint(r->backup, "compression_threads");
	if (b->autolevel_on)
		prc = pipeline_backup_auto(fd, threads, &b->autolevel, b->sinks, r->nlocations,
		    prog, &raw, perr, sizeof(perr));
	else
		prc = pipeline_backup(fd, zstd, level, threads, b->sinks, r->nlocations, prog,
		    &raw, perr, sizeof(perr));
	drc = r->engine->backup_end(&b->job, prc == -1, err, errlen);
	if (drc == -1 && prc == 0)
		pipeline_abort(b->sinks, r->nlocations);
	if (prc == -1)
		errf(err, errlen, "%s", perr);
	else if (drc == -1)
		errprefix(err, errlen, b->parts != NULL ? "the dump of %s failed" :
		    "the dump failed", what);
	else if (pipeline_commit(b->sinks, r->nlocations, err, errlen) == 0) {
		for (i = 0; i < r->nlocations; i++) {
			b->done[i][n].name = xstrdup(name);
			b->done[i][n].key = xstrdup(key);
			b->done[i][n].raw_bytes = raw;
			b->done[i][n].stored_bytes = b->sinks[i].stored;
			strlcpy(b->done[i][n].sha256, b->sinks[i].sha256,
			    sizeof(b->done[i][n].sha256));
			b->done[i][n].container = b->sinks[i].info;
		}
		b->ndone = n + 1;
		b->res->raw_bytes += raw;
		free(key);
		return 0;
	}
	if (prc == -1 && b->parts != NULL)
		errprefix(err, errlen, "%s", what);
	free(key);
	return -1;
}

/* The parts this job stored at location i go: its own, its live marker keeps everyone else off them. */
static void
backup_remove_parts(struct backup_job *b, size_t i)
{
	struct location	*loc = &b->r->locations[i];
	char		 err[KB_ERRLEN];
	size_t		 n;

	for (n = 0; n < b->ndone; n++) {
		if (storage_remove_one(loc->st, b->done[i][n].key, err, sizeof(err)) == 0)
			continue;
		log_kv(LOGL_WARN, "a part of the failed backup was not removed: prune "
		    "removes it once older than orphan_grace", "key", b->done[i][n].key,
		    "location", loc->desc, "error", err, NULL);
	}
}

/* A failed backup: what it had stored goes from every location. */
static void
backup_remove_done(struct backup_job *b)
{
	size_t	i;

	for (i = 0; i < b->r->nlocations; i++)
		backup_remove_parts(b, i);
}

/*
 * A commit that failed at location i (a full disk, a store that went
 * away): its parts there and at the locations after it, which were never
 * committed, go at once rather than after orphan_grace -- on a full disk
 * they would keep the next backup from fitting.  Unless the manifest made
 * it to location i after all (an answer lost after the write): then the
 * backup is listed there, and what it names stays.  The locations before
 * i hold the backup whole and listed.
 */
static void
backup_remove_uncommitted(struct backup_job *b, size_t i)
{
	struct location		*loc = &b->r->locations[i];
	struct storage_stat	 st;
	char			 err[KB_ERRLEN], *key;
	int			 missing = 0;

	/* Written after all (listed there), or unknown: keep what it may name. */
	key = b->single ? NULL : layout_manifest_key(b->r->base, b->res->id);
	if (key != NULL && (loc->st->ops->head(loc->st, key, &st, &missing, err,
	    sizeof(err)) == 0 || !missing))
		i++;
	free(key);
	for (; i < b->r->nlocations; i++)
		backup_remove_parts(b, i);
}

/* Every part in turn; 0 only if each one's dump and uploads succeeded. */
static int
backup_stream(struct backup_job *b, char *err, size_t errlen)
{
	struct runner		*r = b->r;
	struct progress		 prog;
	int			 zstd, level, rc = 0;
	size_t			 n;

	compression_parse(config_get(r->backup, "compression"), &zstd, &level);
	if ((b->autolevel_on = zstd && level == COMPRESS_LEVEL_AUTO))
		autolevel_init(&b->autolevel, monotonic_ms());
	if (r->engine->tool_version != NULL)
		r->engine->tool_version(&b->job, b->tool_version, sizeof(b->tool_version));
	progress_start(&prog, PROGRESS_BACKUP, 0);
	progress_set_heartbeat(&prog, backup_heartbeat, b, MARKER_HEARTBEAT * 1000);
	for (n = 0; n < b->nparts && rc == 0; n++)
		rc = backup_part(b, n, &prog, zstd, level, err, errlen);
	progress_finish(&prog, rc == 0);
	if (rc == 0 && b->autolevel_on)
		autolevel_log(&b->autolevel);
	if (rc == -1)
		backup_remove_done(b);
	return rc;
}

/* What zstd:auto did: the input each level compressed. */
static void
autolevel_log(const struct autolevel *al)
{
	char	levels[256];

	autolevel_describe(al, levels, sizeof(levels));
	log_kv(LOGL_INFO, "zstd:auto: the levels used, and the input each compressed",
	    "levels", levels, NULL);
}

/* The manifest's compression: "zstd:3", "none", or zstd:auto's levels, "zstd:auto:2-5". */
static char *
record_compression(const struct backup_job *b, const char *compression)
{
	int	min, max;

	if (b->autolevel_on) {
		autolevel_range(&b->autolevel, &min, &max);
		return xasprintf("zstd:auto:%d-%d", min, max);
	}
	return xstrdup(strcmp(compression, "zstd") == 0 ? "zstd:3" : compression);
}

static void
record_fill(struct backup_job *b, size_t i, struct backup_record *rec)
{
	struct runner		*r = b->r;
	const char		*compression = config_get(r->backup, "compression");
	char			 host[256];
	size_t			 n;

	memset(rec, 0, sizeof(*rec));
	host_name(host, sizeof(host), "unknown");
	rec->format = RECORD_FORMAT;
	strlcpy(rec->id, b->res->id, sizeof(rec->id));
	rec->name = xstrdup(r->name);
	rec->namespace_ = xstrdup(r->namespace_);
	rec->engine = xstrdup(r->engine->desc->name);
	rec->tool_version = xstrdup(b->tool_version);
	rec->mode = xstrdup(b->single ? "single" : "retained");
	rec->started = b->res->started;
	rec->finished = b->res->finished;
	rec->compression = record_compression(b, compression);
	rec->runner_version = xstrdup(KBACKUP_VERSION);
	rec->host = xstrdup(host);
	rec->runner_id = xstrdup(r->runner_id);
	rec->details = b->job.details != NULL ? json_incref(b->job.details) : NULL;
	for (n = 0; n < b->ndone; n++)
		record_add_part(rec, &b->done[i][n]);
}

/*
 * Deletes the previous single backup's data.  Its key comes from a manifest
 * read back from storage: only a key under that backup's own single/ID/ is
 * taken, as the catalog accepts its parts -- single/manifest.json, just
 * replaced by the new backup's, lies under single/ too.
 */
static void
single_remove_old(struct backup_job *b, struct location *loc, const char *id,
    const char *key)
{
	char	 err[KB_ERRLEN], *dir;
	int	 ours;

	dir = layout_single_backup_prefix(b->r->base, id);
	ours = startswith(key, dir) && strstr(key, "..") == NULL;
	free(dir);
	if (!ours) {
		log_kv(LOGL_WARN, "previous single backup not removed: its key is outside "
		    "its single/ID/", "id", id, "key", key, NULL);
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
	struct storage_put	 put;
	char			*key, *text;
	int			 missing = 0, have_old, rc;
	size_t			 j;

	have_old = catalog_single_read(b->r, loc, &old, &missing, err, errlen) == 0;
	key = layout_single_manifest_key(b->r->base);
	text = record_to_text(rec);
	catalog_put_init(b->r, &put);
	rc = storage_put_buffer(loc->st, key, text, strlen(text), &put, NULL, err, errlen);
	free(text);
	free(key);
	if (rc == 0 && have_old && strcmp(old.id, rec->id) != 0)
		for (j = 0; j < old.nparts; j++)
			single_remove_old(b, loc, old.id, old.parts[j].key);
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

/*
 * Backups are ordered by the second they finished in, then by ID, whose tail
 * is random: one that finished in the second the newest did could sort
 * before it, and "latest" would be the older of the two.  Under the lock, and
 * the store's markers keep other hosts out, so waiting for the next second
 * (less than one) makes the order strict.  A newest dated later (a clock set
 * back) is passed over by catalog_latest() and waits for nothing.
 */
static void
finish_after_newest(const struct backup_job *b)
{
	const struct catalog_entry	*e;
	time_t				 newest = 0;
	size_t				 i;
	int				 ticks;

	for (i = 0; i < b->r->nlocations; i++)
		if ((e = catalog_latest(&b->cats[i])) != NULL && e->rec.finished > newest)
			newest = e->rec.finished;
	/* At most 1.2 s: a clock that does not move (a test's) orders by ID. */
	for (ticks = 0; ticks < 60 && time(NULL) == newest && !cancel_requested(); ticks++)
		usleep(20000);
}

static int
backup_commit(struct backup_job *b, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	size_t		 i;

	/* A physical base backup is committed once the WAL it needs is archived. */
	if (b->job.details != NULL && pg_physical_is(b->job.details) &&
	    wal_wait_archived(r, b->job.details, err, errlen) == -1) {
		backup_remove_done(b);
		return -1;
	}
	finish_after_newest(b);
	b->res->finished = time(NULL);
	if (time_check_clock(b->res->finished, err, errlen) == -1) {
		backup_remove_done(b);
		return -1;
	}
	for (i = 0; i < r->nlocations; i++)
		if (backup_commit_one(b, i, err, errlen) == -1) {
			backup_remove_uncommitted(b, i);
			return -1;
		}
	return 0;
}

int
job_backup(struct runner *r, struct catalog *cats, struct job_result *res)
{
	struct backup_job	b;
	char			err[KB_ERRLEN], raw[16], stored[16], secs[32], rss[24];
	int			rc = EXIT_JOB;
	size_t			i;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.res = res;
	b.cats = cats;
	b.single = strcmp(config_get(r->backup, "mode"), "single") == 0;
	res->started = time(NULL);
	/* Before the ID is made of it, and not after a whole dump. */
	if (time_check_clock(res->started, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "backup not started", "error", err, NULL);
		strlcpy(res->error, err, sizeof(res->error));
		return EXIT_JOB;
	}
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
	for (i = 0; i < b.ndone; i++)
		res->stored_bytes += b.done[0][i].stored_bytes;
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
