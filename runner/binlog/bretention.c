/*
 * bretention: binary logs no retained dump needs, deleted.  See
 * bretention.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "engines/my_binlog.h"
#include "runner/binlog/barchive.h"
#include "runner/binlog/bretention.h"
#include "runner/wal/retention.h"

static int
kept_dump(const struct catalog_entry *e)
{
	return (e->state == CATALOG_OK || e->state == CATALOG_DAMAGED) && e->have_rec;
}

/* Where a kept dump's replay starts: its history, base name and sequence number. */
struct cut {
	uint32_t	hist;
	char		base[BOBJ_NAME_MAX];
	uint32_t	seq;
	char		file[BOBJ_NAME_MAX];
	char		id[BACKUP_ID_MAX];
};

/*
 * The oldest point a kept dump starts from (by history, then sequence
 * number): 1, 0 when no kept dump records a position, -1 when one's does
 * not read or is in no history of the archive.
 */
static int
cutoff(const struct catalog *c, const struct binlog_archive *ar, struct cut *cut)
{
	const struct catalog_entry	*e;
	struct my_binpos		 pos;
	char				 err[KB_ERRLEN], b[BOBJ_NAME_MAX];
	uint32_t			 s, hist;
	size_t				 i;
	int				 found = 0, rc;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (!kept_dump(e))
			continue;
		if ((rc = my_binpos_from_details(e->rec.details, &pos, err, sizeof(err))) == 0)
			continue;
		if (rc == -1 || my_binlog_name_parse(pos.file, b, sizeof(b), &s) == -1 ||
		    (hist = binlog_dump_hist(ar, pos.file, pos.server)) == 0)
			return -1;
		if (found && hist == cut->hist && strcmp(b, cut->base) != 0)
			return -1;	/* two base names: which is older is not known */
		if (!found || hist < cut->hist || (hist == cut->hist && s < cut->seq)) {
			cut->hist = hist;
			strlcpy(cut->base, b, sizeof(cut->base));
			strlcpy(cut->file, pos.file, sizeof(cut->file));
			cut->seq = s;
			strlcpy(cut->id, e->id, sizeof(cut->id));
		}
		found = 1;
	}
	return found;
}

/* The keys of the pieces of v[0..nv) before cut, appended to *keys. */
static void
older_of(const struct binlog_piece *v, size_t nv, const struct cut *cut, char ***keys,
    size_t *n)
{
	size_t	i;

	for (i = 0; i < nv; i++) {
		if (v[i].hist > cut->hist || (v[i].hist == cut->hist &&
		    (strcmp(v[i].base, cut->base) != 0 || v[i].seq >= cut->seq)))
			continue;
		*keys = xreallocarray(*keys, *n + 2, sizeof(**keys));
		(*keys)[(*n)++] = v[i].key;
		(*keys)[*n] = NULL;
	}
}

/*
 * Every piece of a file before cut, the spare ones too, and the links of
 * the histories before cut's (its own says whose log it is: it stays).
 */
static size_t
older(const struct binlog_archive *ar, const struct cut *cut, char ***keys)
{
	size_t	n = 0, i;

	*keys = NULL;
	older_of(ar->v, ar->n, cut, keys, &n);
	older_of(ar->spare, ar->nspare, cut, keys, &n);
	for (i = 0; i < ar->nlinks; i++)
		if (ar->links[i].hist < cut->hist) {
			*keys = xreallocarray(*keys, n + 2, sizeof(**keys));
			(*keys)[n++] = ar->links[i].key;
			(*keys)[n] = NULL;
		}
	return n;
}

size_t
binlog_prune(struct catalog *c, int dry_run, size_t *deleted, size_t *planned)
{
	struct binlog_archive	 ar;
	struct keyring		 kr;
	struct cut		 cut;
	char			 err[KB_ERRLEN], count[24], **keys;
	size_t			 n, failed = 0, i;

	for (i = 0; i < c->n && !(kept_dump(&c->v[i]) && json_object_get(c->v[i].rec.details,
	    "binlog") != NULL); i++)
		;
	if (i == c->n)
		return 0;	/* no kept dump records a position */
	if (retention_running(c)) {
		log_kv(LOGL_INFO, "prune: binary logs kept while a backup is in progress", NULL);
		return 0;
	}
	if (retention_unreadable(c, "prune: binary logs kept: a damaged backup's manifest "
	    "does not say which it needs (prune --damaged deletes the backup)"))
		return 0;
	if (keyring_load(c->loc->section, &kr, err, sizeof(err)) == -1 ||
	    binlog_archive_open(c->loc, c->r->base, &kr, &ar, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: binary log archive not listed", "error", err, NULL);
		keyring_free(&kr);
		return 1;
	}
	if (cutoff(c, &ar, &cut) == 1 && older(&ar, &cut, &keys) > 0) {
		free(keys);
		/* The index proposed it; the manifests decide. */
		if (retention_refresh(c, kept_dump) == -1)
			failed++;
		else if (cutoff(c, &ar, &cut) == 1 && (n = older(&ar, &cut, &keys)) > 0) {
			snprintf(count, sizeof(count), "%zu", n);
			if (dry_run) {
				printf("would delete %zu binary log piece%s before %s (the oldest "
				    "backup kept, %s, starts there)\n", n, n == 1 ? "" : "s",
				    cut.file, cut.id);
				*planned += n;
			} else if ((failed += retention_remove(c, keys, n, deleted)) == 0)
				log_kv(LOGL_INFO, "pruned binary logs no backup kept needs",
				    "pieces", count, "before", cut.file, "oldest_backup", cut.id,
				    "location", c->loc->desc, NULL);
			free(keys);
		}
	}
	binlog_archive_close(&ar);
	keyring_free(&kr);
	return failed;
}
