/*
 * prune: deletes what no retention label holds any more, and what
 * interrupted runs left, in every location.
 *
 * Runs after a successful backup (never after a failed one: the caller
 * decides) or by "kbackup-runner prune", holding the lock.  Per location,
 * on the job's catalog: the labels plan of labels.h over the ok backups
 * (which never takes the newest); each backup planned is read again from
 * its own manifest -- the truth; the index only proposes -- and deleted
 * only if that manifest's labels have all expired too and it dates the
 * backup before the plan's newest (read again as well), manifest first, so
 * that an interruption leaves data without a manifest, never a manifest
 * without data.  Damaged backups are kept unless prune --damaged; foreign
 * manifests and running jobs are never touched.  Then the catalog's sweep
 * (catalog.h) and the index.  mode = single has no labels: only the sweep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/wal/retention.h"

struct prune_run {
	struct runner			*r;
	struct catalog			*c;
	const struct prune_request	*req;
	time_t				 now;
	size_t				 deleted;
	size_t				 planned;	/* --dry-run */
	size_t				 failed;
};

struct catalog *
catalogs_new(const struct runner *r)
{
	return xcalloc(r->nlocations > 0 ? r->nlocations : 1, sizeof(struct catalog));
}

void
catalogs_close(const struct runner *r, struct catalog *cats)
{
	size_t	i;

	if (cats == NULL)
		return;
	for (i = 0; i < r->nlocations; i++)
		if (cats[i].r != NULL)
			catalog_close(&cats[i]);
	free(cats);
}

/* 1 if the labels e's own manifest records still hold it at now. */
static int
manifest_keeps(const struct catalog_entry *e, time_t now)
{
	time_t	shift = e->rec.finished - e->effective;
	size_t	i;

	for (i = 0; i < e->rec.nlabels; i++)
		if (e->rec.labels[i].expires - shift > now)
			return 1;
	return 0;
}

static void
delete_entry(struct prune_run *p, struct catalog_entry *e, const char *reason)
{
	char	err[KB_ERRLEN], date[32];
	time_t	locked_until;

	if (p->req->dry_run) {
		printf("would delete %s: %s\n", e->id, reason);
		p->planned++;
		return;
	}
	if (catalog_delete(p->c, e, &locked_until, err, sizeof(err)) == -1) {
		if (locked_until == 0) {
			log_kv(LOGL_ERROR, "prune: backup not deleted", "id", e->id,
			    "location", p->c->loc->desc, "error", err, NULL);
			p->failed++;
			return;
		}
		/* Not a failure: the lock keeps what it was asked to keep. */
		time_to_rfc3339(locked_until, date);
		log_kv(LOGL_INFO, "prune: backup still retained by Object Lock", "id", e->id,
		    "location", p->c->loc->desc, "locked_until", date, NULL);
		return;
	}
	log_kv(LOGL_INFO, "pruned", "id", e->id, "location", p->c->loc->desc, "reason",
	    reason, NULL);
	p->deleted++;
}

/*
 * The backup the plan takes for the newest, read again from its manifest.
 * The plan's order is the index's: a planned backup whose own manifest
 * dates it after this one may be the newest good backup, which is kept.
 * NULL (nothing is deleted) when that manifest does not check out.
 */
static struct catalog_entry *
plan_newest(struct prune_run *p, const struct labels_index *view)
{
	struct catalog_entry	*e;
	char			 err[KB_ERRLEN];

	if (view->n == 0 || (e = catalog_find(p->c, view->v[view->n - 1].id)) == NULL)
		return NULL;
	if (catalog_refresh(p->c, e, err, sizeof(err)) == -1 || e->state != CATALOG_OK) {
		log_kv(LOGL_ERROR, "prune: no backup deleted, the newest one's manifest does "
		    "not check out", "id", e->id, "location", p->c->loc->desc, "error",
		    e->state != CATALOG_OK ? e->why : err, NULL);
		p->failed++;
		return NULL;
	}
	return e;
}

/* One backup the plan proposes: decided again on its manifest. */
static void
prune_planned(struct prune_run *p, const struct catalog_entry *newest,
    const struct labels_prune_item *it)
{
	struct catalog_entry	*e;
	char			 err[KB_ERRLEN];

	if ((e = catalog_find(p->c, it->id)) == NULL || e->state != CATALOG_OK)
		return;
	if (catalog_refresh(p->c, e, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: manifest not read; backup kept", "id", e->id,
		    "error", err, NULL);
		p->failed++;
		return;
	}
	if (e->state != CATALOG_OK) {
		log_kv(LOGL_ERROR, "prune: backup kept, its manifest does not check out",
		    "id", e->id, "state", catalog_state_name(e->state), "why", e->why, NULL);
		return;
	}
	if (!labels_before(e->effective, e->id, newest->effective, newest->id)) {
		log_kv(LOGL_WARN, "prune: backup kept, its manifest dates it as the newest (the "
		    "index said otherwise)", "id", e->id, "location", p->c->loc->desc, NULL);
		return;
	}
	if (manifest_keeps(e, p->now)) {
		log_kv(LOGL_WARN, "prune: backup kept, its manifest's labels hold it (the "
		    "index said otherwise)", "id", e->id, "location", p->c->loc->desc, NULL);
		return;
	}
	delete_entry(p, e, it->reason);
}

/*
 * The newest backup, kept although its labels expired (backups stopped
 * succeeding), stays locked as long from now as its labels locked it from
 * its end: a lock that ran out would leave the only recent copy deletable.
 */
static void
retain_newest(struct prune_run *p, const char *id)
{
	struct catalog_entry	*e;
	time_t			 span;
	char			 err[KB_ERRLEN];

	if (!p->c->loc->st->object_lock || (e = catalog_find(p->c, id)) == NULL ||
	    !e->have_rec || (span = record_kept_until(&e->rec) - e->rec.finished) <= 0)
		return;
	if (catalog_retain(p->c, e, p->now + span, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: the newest backup's Object Lock not extended", "id",
		    id, "location", p->c->loc->desc, "error", err, NULL);
		p->failed++;
	}
}

static void
prune_labels(struct prune_run *p)
{
	struct labels_index		view;
	struct labels_prune_plan	plan;
	struct catalog_entry		*newest = NULL;
	size_t				i;

	catalog_labels(p->c, &view);
	labels_plan_prune(&view, p->now, &plan);
	if (plan.n > 0)
		newest = plan_newest(p, &view);
	for (i = 0; i < plan.n && newest != NULL; i++)
		prune_planned(p, newest, &plan.v[i]);
	if (plan.kept_newest != NULL) {
		if (p->req->dry_run)
			printf("would keep %s: the newest backup, although its labels "
			    "expired\n", plan.kept_newest);
		else {
			log_kv(LOGL_INFO, "kept the newest backup although its labels expired",
			    "id", plan.kept_newest, "location", p->c->loc->desc, NULL);
			retain_newest(p, plan.kept_newest);
		}
	}
	labels_plan_free(&plan);
	labels_index_free(&view);
}

static void
prune_damaged(struct prune_run *p)
{
	struct catalog_entry	*e;
	size_t			 i;

	for (i = 0; i < p->c->n; i++) {
		e = &p->c->v[i];
		if (e->state != CATALOG_DAMAGED)
			continue;
		if (p->req->damaged)
			delete_entry(p, e, "damaged (prune --damaged)");
		else
			log_kv(LOGL_WARN, "damaged backup kept (prune --damaged deletes it)",
			    "id", e->id, "location", p->c->loc->desc, "why", e->why, NULL);
	}
}

static void
prune_location(struct prune_run *p)
{
	char	err[KB_ERRLEN];

	if (!p->c->single)
		prune_labels(p);
	prune_damaged(p);
	/* Physical backups: WAL behind the oldest one kept (runner/wal/retention.h). */
	p->failed += wal_prune(p->c, p->req->dry_run, &p->deleted, &p->planned);
	/* A dry run holds no lock: it cannot tell its own killed jobs from live ones. */
	p->failed += catalog_sweep(p->c, CATALOG_SWEEP_AGED | (p->req->dry_run ? 0 :
	    CATALOG_SWEEP_OWN), p->req->dry_run, &p->deleted, &p->planned);
	if (!p->req->dry_run && catalog_save_index(p->c, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: label index not written", "error", err, NULL);
		p->failed++;
	}
}

int
job_prune(struct runner *r, struct catalog *given, const struct prune_request *req)
{
	struct prune_run	 p;
	struct catalog		*cats = given != NULL ? given : catalogs_new(r);
	char			 n[32], err[KB_ERRLEN];
	size_t			 i;

	memset(&p, 0, sizeof(p));
	p.r = r;
	p.req = req;
	p.now = time(NULL);
	for (i = 0; i < r->nlocations; i++) {
		p.c = &cats[i];
		if (p.c->r == NULL && catalog_open(r, &r->locations[i], 0, p.c, err,
		    sizeof(err)) == -1) {
			log_kv(LOGL_ERROR, "prune: cannot list backups", "error", err, NULL);
			p.failed++;
			continue;
		}
		prune_location(&p);
	}
	if (given == NULL)
		catalogs_close(r, cats);
	if (req->dry_run) {
		if (p.planned == 0)
			printf("nothing to prune\n");
		fflush(stdout);
	} else {
		snprintf(n, sizeof(n), "%zu", p.deleted);
		log_kv(p.failed > 0 ? LOGL_ERROR : LOGL_INFO, p.failed > 0 ?
		    "prune finished with errors" : "prune finished", "deleted", n, NULL);
	}
	return p.failed == 0 ? EXIT_OK : EXIT_JOB;
}
