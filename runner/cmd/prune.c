/*
 * prune: deletes what no retention label holds any more, in every location.
 *
 * Runs after a successful backup (never after a failed one: the caller
 * decides) or by "kbackup-runner prune".  Per location: the catalog (the
 * manifests) and the label index, reconciled; the plan of labels.h, which
 * never takes the newest good backup; for each backup planned, its manifest
 * is deleted before its data, so that an interruption leaves data without a
 * manifest, never a manifest without data; then labels.json; then data left
 * without a manifest by interrupted runs, and stale multipart uploads.
 * mode = single has no labels: prune only sweeps what interrupted runs left
 * under single/ and stale multipart uploads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/catalog/retention.h"

#define ORPHAN_AGE	86400	/* seconds */
#define UPLOAD_AGE	86400

struct prune_run {
	struct runner	*r;
	struct location	*loc;
	int		 dry_run;
	time_t		 now;
	size_t		 deleted;
	size_t		 planned;	/* --dry-run */
	size_t		 failed;
};

static int
remove_key(struct location *loc, const char *key, char *err, size_t errlen)
{
	const char	*k = key;

	return loc->st->ops->remove(loc->st, &k, 1, err, errlen);
}

/* Manifest first, then data. */
static int
delete_backup(struct prune_run *p, const struct manifest *m, char *err, size_t errlen)
{
	char	*key;
	int	 rc;

	key = layout_manifest_key(p->r, m->id);
	rc = remove_key(p->loc, key, err, errlen);
	free(key);
	if (rc == -1)
		return errprefix(err, errlen, "deleting the manifest of %s", m->id);
	/* The layout's key, not m->data_key: a manifest is data read back from storage. */
	key = layout_data_key(p->r, m->id);
	rc = remove_key(p->loc, key, err, errlen);
	free(key);
	if (rc == -1)
		return errprefix(err, errlen, "deleting the data of %s (its manifest is gone: "
		    "the next prune removes it)", m->id);
	return 0;
}

static void
prune_backups(struct prune_run *p, const struct catalog *c, struct labels_index *idx)
{
	struct labels_prune_plan	 plan;
	const struct manifest		*m;
	char				 err[KB_ERRLEN];
	size_t				 i;

	labels_plan_prune(idx, p->now, &plan);
	for (i = 0; i < plan.n; i++) {
		if ((m = catalog_find(c, plan.v[i].id)) == NULL)
			continue;	/* reconciled: cannot happen */
		if (p->dry_run) {
			printf("would delete %s: %s\n", m->id, plan.v[i].reason);
			p->planned++;
			continue;
		}
		if (delete_backup(p, m, err, sizeof(err)) == -1) {
			log_kv(LOGL_ERROR, "prune: backup not deleted", "id", m->id,
			    "location", p->loc->desc, "error", err, NULL);
			p->failed++;
			break;	/* storage is failing: keep the index as it is */
		}
		log_kv(LOGL_INFO, "pruned", "id", m->id, "location", p->loc->desc, "reason",
		    plan.v[i].reason, NULL);
		labels_index_remove(idx, m->id);
		p->deleted++;
	}
	if (plan.kept_newest != NULL) {
		if (p->dry_run)
			printf("would keep %s: the newest backup, although its labels "
			    "expired\n", plan.kept_newest);
		else
			log_kv(LOGL_INFO, "kept the newest backup although its labels expired",
			    "id", plan.kept_newest, "location", p->loc->desc, NULL);
	}
	labels_plan_free(&plan);
}

/*
 * Data without a manifest is an interrupted run's only when it is older than
 * the newest backup or than ORPHAN_AGE: a backup being written right now (by
 * a runner that somehow does not share our lock) is never taken.
 */
static int
orphan_due(const struct prune_run *p, const char *id, const char *newest)
{
	time_t	started;

	if (id_to_time(id, &started) == -1)
		return 0;
	return started < p->now - ORPHAN_AGE || (newest != NULL && strcmp(id, newest) < 0);
}

static void
delete_orphan(struct prune_run *p, const char *id, const char *key)
{
	char	err[KB_ERRLEN];

	if (p->dry_run) {
		printf("would delete %s: data without a manifest (an interrupted run)\n", id);
		p->planned++;
	} else if (remove_key(p->loc, key, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: orphaned data not deleted", "key", key, "error",
		    err, NULL);
		p->failed++;
	} else {
		log_kv(LOGL_INFO, "pruned", "id", id, "location", p->loc->desc, "reason",
		    "data without a manifest (an interrupted run)", NULL);
		p->deleted++;
	}
}

static void
sweep_orphans(struct prune_run *p, const struct catalog *c)
{
	const struct manifest	*newest = catalog_latest(c);
	char			*key;
	size_t			 i;

	for (i = 0; i < c->norphans; i++) {
		if (!orphan_due(p, c->orphans[i], newest != NULL ? newest->id : NULL))
			continue;
		key = layout_data_key(p->r, c->orphans[i]);
		delete_orphan(p, c->orphans[i], key);
		free(key);
	}
}

/*
 * single/ holds the data single/manifest.json names, and what interrupted
 * runs (data written, manifest not switched) or a failed removal of the
 * previous data left.  An unreadable manifest stops the sweep: without it
 * the current data cannot be told from the rest.
 */
static void
sweep_single(struct prune_run *p)
{
	struct manifest	  m;
	char		  err[KB_ERRLEN], **ids, *key;
	const char	 *current = NULL;
	size_t		  n, i;
	int		  missing = 0, have;

	have = catalog_single_manifest(p->r, p->loc, &m, &missing, err, sizeof(err)) == 0;
	if (!have && !missing) {
		log_kv(LOGL_WARN, "prune: single/ not swept", "location", p->loc->desc,
		    "error", err, NULL);
		p->failed++;
		return;
	}
	if (have)
		current = m.id;
	if (catalog_single_data(p->r, p->loc, &ids, &n, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: cannot list single/", "error", err, NULL);
		p->failed++;
	}
	for (i = 0; i < n; i++) {
		if (current != NULL && strcmp(ids[i], current) == 0)
			continue;
		if (!orphan_due(p, ids[i], current))
			continue;
		key = layout_single_data_key(p->r, ids[i]);
		delete_orphan(p, ids[i], key);
		free(key);
	}
	catalog_ids_free(ids, n);
	if (have)
		manifest_free(&m);
}

struct stale_uploads {
	struct storage	*st;
	time_t		 older_than;
	size_t		 failed;
};

static int
abort_stale(const struct storage_pending *pu, void *arg)
{
	struct stale_uploads	*su = arg;
	char			 err[KB_ERRLEN];

	if (pu->initiated >= su->older_than)
		return 0;
	if (su->st->ops->abort_pending(su->st, pu->key, pu->upload_id, err,
	    sizeof(err)) == -1) {
		log_kv(LOGL_WARN, "prune: stale upload not aborted", "key", pu->key, "error",
		    err, NULL);
		su->failed++;
	} else
		log_kv(LOGL_INFO, "aborted a stale upload", "key", pu->key, NULL);
	return 0;
}

static void
sweep_uploads(struct prune_run *p)
{
	struct storage		*st = p->loc->st;
	struct stale_uploads	 su;
	char			 err[KB_ERRLEN], *prefix;
	time_t			 now;
	int			 unsupported;

	if (p->dry_run || st->ops->list_pending == NULL)
		return;
	if (st->ops->now(st, &now, err, sizeof(err)) == -1) {
		log_kv(LOGL_WARN, "prune: stale uploads not swept", "location", p->loc->desc,
		    "error", err, NULL);
		p->failed++;
		return;
	}
	su.st = st;
	su.older_than = now - UPLOAD_AGE;
	su.failed = 0;
	prefix = xasprintf("%s/", p->r->base);
	if (st->ops->list_pending(st, prefix, abort_stale, &su, &unsupported, err,
	    sizeof(err)) == -1) {
		log_kv(LOGL_WARN, "prune: stale uploads not swept", "location", p->loc->desc,
		    "error", err, NULL);
		p->failed++;
	}
	p->failed += su.failed;
	free(prefix);
}

static void
prune_location(struct prune_run *p)
{
	struct catalog		c;
	struct labels_index	idx;
	char			err[KB_ERRLEN];
	size_t			before;
	int			changed;

	if (catalog_load(p->r, p->loc, &c, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: cannot list backups", "error", err, NULL);
		p->failed++;
		return;
	}
	if (retention_index_load(p->r, p->loc, &c, &idx, &changed, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: no label index", "error", err, NULL);
		p->failed++;
		catalog_free(&c);
		return;
	}
	before = p->deleted;
	prune_backups(p, &c, &idx);
	if (!p->dry_run && (changed || p->deleted > before) &&
	    retention_index_save(p->r, p->loc, &idx, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: label index not written", "error", err, NULL);
		p->failed++;
	}
	sweep_orphans(p, &c);
	sweep_uploads(p);
	labels_index_free(&idx);
	catalog_free(&c);
}

int
job_prune(struct runner *r, int dry_run)
{
	struct prune_run	p;
	char			n[32];
	size_t			i;
	int			single;

	single = strcmp(config_get(r->backup, "mode"), "single") == 0;
	memset(&p, 0, sizeof(p));
	p.r = r;
	p.dry_run = dry_run;
	p.now = time(NULL);
	for (i = 0; i < r->nlocations; i++) {
		p.loc = &r->locations[i];
		if (single) {	/* no labels: only what interrupted runs left */
			sweep_single(&p);
			sweep_uploads(&p);
		} else
			prune_location(&p);
	}
	if (dry_run) {
		if (single && p.planned == 0)
			printf("mode = single: nothing to prune\n");
		fflush(stdout);
	} else {
		snprintf(n, sizeof(n), "%zu", p.deleted);
		log_kv(p.failed > 0 ? LOGL_ERROR : LOGL_INFO, p.failed > 0 ?
		    "prune finished with errors" : "prune finished", "deleted", n, NULL);
	}
	return p.failed == 0 ? EXIT_OK : EXIT_JOB;
}
