/*
 * retention: WAL no retained base backup needs, deleted.  See retention.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/binlog/bretention.h"
#include "runner/binlog/bpitr.h"
#include "runner/wal/chain.h"
#include "runner/wal/retention.h"

#define REMOVE_BATCH	1000
#define NONE		UINT64_MAX

/* A physical backup prune keeps (ok or damaged: kept unless prune --damaged). */
static int
kept_physical(const struct catalog_entry *e)
{
	return (e->state == CATALOG_OK || e->state == CATALOG_DAMAGED) && e->have_rec &&
	    pg_physical_is(e->rec.details);
}

/* The oldest first segment of the physical backups kept, or NONE; the backup in *id. */
static uint64_t
cutoff(const struct catalog *c, uint64_t *segsize, uint32_t *tli, char *id, size_t idlen)
{
	const struct catalog_entry	*e;
	struct pg_physical_details	 d;
	char				 err[KB_ERRLEN];
	uint64_t			 cut = NONE;
	size_t				 i;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (!kept_physical(e))
			continue;
		/* Kept but unreadable as a physical backup: keep all its WAL could be. */
		if (pg_physical_details_parse(e->rec.details, &d, err, sizeof(err)) == -1)
			return 0;
		if (cut == NONE || d.first_segno < cut) {
			cut = d.first_segno;
			*segsize = d.segsize;
			*tli = d.timeline;
			strlcpy(id, e->id, idlen);
		}
	}
	return cut;
}

int
retention_refresh(struct catalog *c, int (*kept)(const struct catalog_entry *))
{
	struct catalog_entry	*e;
	char			 err[KB_ERRLEN];
	size_t			 i;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (!kept(e))
			continue;
		if (catalog_refresh(c, e, err, sizeof(err)) == -1) {
			log_kv(LOGL_ERROR, "prune: manifest not read; the archive kept", "id",
			    e->id, "error", err, NULL);
			return -1;
		}
	}
	return 0;
}

int
retention_running(const struct catalog *c)
{
	return catalog_count(c, CATALOG_RUNNING) > 0;
}

int
retention_unreadable(const struct catalog *c, const char *msg)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].state == CATALOG_DAMAGED && !c->v[i].have_rec) {
			log_kv(LOGL_WARN, msg, "id", c->v[i].id, "why", c->v[i].why,
			    "location", c->loc->desc, NULL);
			return 1;
		}
	return 0;
}

/* The archive's files before cut, in *keys (NULL-terminated). */
static size_t
older(const struct wal_archive *ar, uint64_t cut, char ***keys)
{
	size_t	i, n = 0;

	*keys = NULL;
	for (i = 0; i < ar->n; i++) {
		if (ar->v[i].n.kind == PG_WAL_HISTORY || ar->v[i].n.segno >= cut)
			continue;
		*keys = xreallocarray(*keys, n + 2, sizeof(**keys));
		(*keys)[n++] = ar->v[i].key;
		(*keys)[n] = NULL;
	}
	return n;
}

size_t
retention_remove(struct catalog *c, char **keys, size_t n, size_t *deleted)
{
	char	err[KB_ERRLEN];
	size_t	i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < REMOVE_BATCH ? n - i : REMOVE_BATCH;
		if (c->loc->st->ops->remove(c->loc->st, (const char *const *)keys + i, k, err,
		    sizeof(err)) == -1) {
			log_kv(LOGL_ERROR, "prune: archived files not deleted", "location",
			    c->loc->desc,
			    "error", err, NULL);
			return 1;
		}
		*deleted += k;
	}
	return 0;
}

size_t
wal_prune(struct catalog *c, int dry_run, size_t *deleted, size_t *planned)
{
	struct wal_archive	 ar;
	struct keyring		 kr;
	char			 err[KB_ERRLEN], id[BACKUP_ID_MAX], first[PG_WAL_NAME_MAX];
	char			 count[24], **keys;
	uint64_t		 cut, segsize = 0;
	uint32_t		 tli = 1;
	size_t			 n, failed = 0;

	if (binlog_pitr_on(c->r))	/* MariaDB/MySQL: the binary log archive */
		return binlog_prune(c, dry_run, deleted, planned);
	if ((cut = cutoff(c, &segsize, &tli, id, sizeof(id))) == NONE || cut == 0)
		return 0;
	if (retention_running(c)) {
		log_kv(LOGL_INFO, "prune: WAL kept while a backup is in progress", NULL);
		return 0;
	}
	if (retention_unreadable(c, "prune: WAL kept: a damaged backup's manifest does not "
	    "say which it needs (prune --damaged deletes the backup)"))
		return 0;
	if (keyring_load(c->loc->section, &kr, err, sizeof(err)) == -1 ||
	    wal_archive_open(c->loc, c->r->base, &kr, segsize, &ar, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: WAL archive not listed", "error", err, NULL);
		keyring_free(&kr);
		return 1;
	}
	if (older(&ar, cut, &keys) > 0) {
		free(keys);
		/* The index proposed it; the manifests decide. */
		if (retention_refresh(c, kept_physical) == -1)
			failed++;
		else if ((cut = cutoff(c, &segsize, &tli, id, sizeof(id))) != NONE && cut > 0 &&
		    (n = older(&ar, cut, &keys)) > 0) {
			pg_wal_segment_name(tli, cut, ar.id.segsize, first);
			snprintf(count, sizeof(count), "%zu", n);
			if (dry_run) {
				printf("would delete %zu WAL file%s before segment %s (the oldest "
				    "base backup kept, %s, starts there)\n", n, n == 1 ? "" : "s",
				    first, id);
				*planned += n;
			} else if ((failed += retention_remove(c, keys, n, deleted)) == 0)
				log_kv(LOGL_INFO, "pruned WAL no base backup kept needs", "files",
				    count, "before", first, "oldest_backup", id, "location",
				    c->loc->desc, NULL);
			free(keys);
		}
	}
	wal_archive_close(&ar);
	keyring_free(&kr);
	return failed;
}
