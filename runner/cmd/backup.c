/*
 * backup: one backup of the definition to every location.
 *
 * The dump tool's exit status decides: a failed dump aborts every upload
 * and nothing is committed.  Data first, manifest last: a backup exists
 * once its manifest does.  In retained mode the backup is labelled (the
 * location's label index, then its manifest records the labels) before the
 * manifest is written, and labels.json is updated after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/stream/keys.h"
#include "runner/catalog/manifest.h"
#include "runner/stream/pipeline.h"
#include "runner/catalog/retention.h"
#include "runner/schema.h"

struct backup_job {
	struct runner		*r;
	struct job_result	*res;
	struct keyring		*keyrings;
	struct pipeline_sink	*sinks;
	char			**keys;
	struct label_rules	 rules;
	int			 single;
	char			 tool_version[256];
};

static void
backup_job_free(struct backup_job *b)
{
	size_t	i;

	for (i = 0; i < b->r->nlocations; i++) {
		keyring_free(&b->keyrings[i]);
		free(b->keys[i]);
	}
	free(b->keyrings);
	free(b->sinks);
	free(b->keys);
	labels_rules_free(&b->rules);
}

static int
backup_prepare(struct backup_job *b, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	size_t		 i;

	b->keyrings = xcalloc(r->nlocations, sizeof(*b->keyrings));
	b->sinks = xcalloc(r->nlocations, sizeof(*b->sinks));
	b->keys = xcalloc(r->nlocations, sizeof(*b->keys));
	if (!b->single && retention_rules(r, &b->rules, err, errlen) == -1)
		return -1;
	for (i = 0; i < r->nlocations; i++) {
		if (keyring_load(r->locations[i].section, &b->keyrings[i], err, errlen) == -1)
			return -1;
		b->keys[i] = b->single ? layout_single_data_key(r, b->res->id) :
		    layout_data_key(r, b->res->id);
		b->sinks[i].st = r->locations[i].st;
		b->sinks[i].key = b->keys[i];
		b->sinks[i].secret = keyring_current(&b->keyrings[i]);
	}
	return 0;
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
	prc = pipeline_backup(fd, zstd, level, (int)config_get_uint(r->backup,
	    "compression_threads"), b->sinks, r->nlocations, &prog, &b->res->raw_bytes, perr,
	    sizeof(perr));
	drc = r->engine->backup_end(&job, prc == -1, err, errlen);
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
manifest_fill(struct backup_job *b, size_t i, struct manifest *m)
{
	struct runner	*r = b->r;
	const char	*compression = config_get(r->backup, "compression");
	char		 host[256];

	memset(m, 0, sizeof(*m));
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "unknown", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	m->format = MANIFEST_FORMAT;
	strlcpy(m->id, b->res->id, sizeof(m->id));
	m->name = xstrdup(r->name);
	m->namespace_ = xstrdup(r->namespace_);
	m->engine = xstrdup(r->engine->name);
	m->tool_version = xstrdup(b->tool_version);
	m->mode = xstrdup(b->single ? "single" : "retained");
	m->data_key = xstrdup(b->keys[i]);
	m->started = b->res->started;
	m->finished = b->res->finished;
	m->raw_bytes = b->res->raw_bytes;
	m->stored_bytes = b->sinks[i].stored;
	strlcpy(m->sha256, b->sinks[i].sha256, sizeof(m->sha256));
	m->compression = strcmp(compression, "zstd") == 0 ? xstrdup("zstd:3") :
	    xstrdup(compression);
	m->container = b->sinks[i].info;
	m->runner_version = xstrdup(KBACKUP_VERSION);
	m->host = xstrdup(host);
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

	dir = layout_single_prefix(b->r);
	ours = startswith(key, dir) && strstr(key, "..") == NULL;
	free(dir);
	if (!ours) {
		log_kv(LOGL_WARN, "previous single backup not removed: its key is outside "
		    "single/", "key", key, NULL);
		return;
	}
	if (loc->st->ops->remove(loc->st, &key, 1, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "previous single backup not removed", "key", key, "error",
		    err, NULL);
	else
		log_kv(LOGL_INFO, "previous single backup removed", "key", key, NULL);
}

/* Single mode: switch single/manifest.json to the new data, then drop the old data. */
static int
single_switch(struct backup_job *b, size_t i, const char *json, char *err, size_t errlen)
{
	struct location	*loc = &b->r->locations[i];
	struct manifest	 old;
	char		*key;
	int		 missing = 0, have_old, rc;

	have_old = catalog_single_manifest(b->r, loc, &old, &missing, err, errlen) == 0;
	key = layout_single_manifest_key(b->r);
	rc = storage_put_buffer(loc->st, key, json, strlen(json), NULL, NULL, err, errlen);
	free(key);
	if (rc == 0 && have_old && strcmp(old.data_key, b->keys[i]) != 0)
		single_remove_old(b, loc, old.data_key);
	if (have_old)
		manifest_free(&old);
	return rc;
}

/* Labels the new backup in location i's index and records the labels in m. */
static int
backup_label(struct backup_job *b, size_t i, struct manifest *m, struct labels_index *idx,
    char *err, size_t errlen)
{
	struct runner		*r = b->r;
	const struct labels_backup *lb;
	char			*names = NULL, *next;
	size_t			 j;
	int			 changed;

	if (retention_index_load(r, &r->locations[i], NULL, idx, &changed, err,
	    errlen) == -1)
		return -1;
	if (labels_assign(idx, &b->rules, config_get(r->backup, "timezone"), b->res->id,
	    b->res->finished, err, errlen) == -1)
		return errprefix(err, errlen, "labelling");
	lb = labels_index_find(idx, b->res->id);
	for (j = 0; j < lb->nlabels; j++) {
		manifest_add_label(m, lb->labels[j].name, lb->labels[j].expires);
		next = xasprintf("%s%s%s", names != NULL ? names : "", j > 0 ? " " : "",
		    lb->labels[j].name);
		free(names);
		names = next;
	}
	log_kv(LOGL_INFO, "labelled", "id", b->res->id, "location", r->locations[i].desc,
	    "labels", names != NULL ? names : "", NULL);
	free(names);
	return 0;
}

/*
 * After the manifest: labels.json.  A failure leaves the backup committed;
 * labels.json is then removed so that the next run rebuilds it.
 */
static void
backup_save_index(struct backup_job *b, size_t i, const struct labels_index *idx)
{
	struct location	*loc = &b->r->locations[i];
	char		 err[KB_ERRLEN], *key;
	const char	*k;

	if (retention_index_save(b->r, loc, idx, err, sizeof(err)) == 0)
		return;
	log_kv(LOGL_WARN, "label index not updated; the next run rebuilds it", "error", err,
	    NULL);
	key = layout_labels_key(b->r);
	k = key;
	if (loc->st->ops->remove(loc->st, &k, 1, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "stale label index not removed", "key", key, "error", err,
		    NULL);
	free(key);
}

static int
backup_commit_one(struct backup_job *b, size_t i, char *err, size_t errlen)
{
	struct runner		*r = b->r;
	struct labels_index	 idx;
	struct manifest		 m;
	char			*json = NULL, *key;
	int			 rc;

	labels_index_init(&idx);
	manifest_fill(b, i, &m);
	if (!b->single && (rc = backup_label(b, i, &m, &idx, err, errlen)) == -1)
		goto out;
	json = manifest_to_json(&m);
	if (b->single)
		rc = single_switch(b, i, json, err, errlen);
	else {
		key = layout_manifest_key(r, b->res->id);
		rc = storage_put_buffer(r->locations[i].st, key, json, strlen(json), NULL, NULL, err,
		    errlen);
		free(key);
		if (rc == 0)
			backup_save_index(b, i, &idx);
	}
out:
	if (rc == -1)
		errprefix(err, errlen, "writing the manifest to %s", r->locations[i].desc);
	free(json);
	manifest_free(&m);
	labels_index_free(&idx);
	return rc;
}

static int
backup_commit(struct backup_job *b, char *err, size_t errlen)
{
	struct runner	*r = b->r;
	size_t		 i;

	if (pipeline_commit(b->sinks, r->nlocations, err, errlen) == -1)
		return -1;
	b->res->finished = time(NULL);
	for (i = 0; i < r->nlocations; i++)
		if (backup_commit_one(b, i, err, errlen) == -1)
			return -1;
	return 0;
}

int
job_backup(struct runner *r, struct job_result *res)
{
	struct backup_job	b;
	char			err[KB_ERRLEN], raw[16], stored[16], secs[32], rss[24];
	int			rc = EXIT_JOB;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.res = res;
	b.single = strcmp(config_get(r->backup, "mode"), "single") == 0;
	res->started = time(NULL);
	time_to_id(res->started, res->id);
	log_kv(LOGL_INFO, "backup started", "id", res->id, "engine", r->engine->name,
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
