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

/*
 * The oldest file a kept dump starts from (base and sequence): 1, 0 when
 * no kept dump records a position, -1 when one's does not read.
 */
static int
cutoff(const struct catalog *c, char *base, size_t baselen, uint32_t *seq, char *id,
    size_t idlen, char file[BOBJ_NAME_MAX])
{
	const struct catalog_entry	*e;
	struct my_binpos		 pos;
	char				 err[KB_ERRLEN], b[BOBJ_NAME_MAX];
	uint32_t			 s;
	size_t				 i;
	int				 found = 0, rc;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (!kept_dump(e))
			continue;
		if ((rc = my_binpos_from_details(e->rec.details, &pos, err, sizeof(err))) == 0)
			continue;
		if (rc == -1 || my_binlog_name_parse(pos.file, b, sizeof(b), &s) == -1)
			return -1;
		if (found && strcmp(b, base) != 0)
			return -1;	/* two base names: which is older is not known */
		if (!found || s < *seq) {
			strlcpy(base, b, baselen);
			strlcpy(file, pos.file, BOBJ_NAME_MAX);
			*seq = s;
			strlcpy(id, e->id, idlen);
		}
		found = 1;
	}
	return found;
}

/* The keys of the pieces of v[0..nv) older than (base, seq), appended to *keys. */
static void
older_of(const struct binlog_piece *v, size_t nv, const char *base, uint32_t seq,
    char ***keys, size_t *n)
{
	size_t	i;

	for (i = 0; i < nv; i++) {
		if (strcmp(v[i].base, base) != 0 || v[i].seq >= seq)
			continue;
		*keys = xreallocarray(*keys, *n + 2, sizeof(**keys));
		(*keys)[(*n)++] = v[i].key;
		(*keys)[*n] = NULL;
	}
}

/* Every piece of a file older than (base, seq), the spare ones too. */
static size_t
older(const struct binlog_archive *ar, const char *base, uint32_t seq, char ***keys)
{
	size_t	n = 0;

	*keys = NULL;
	older_of(ar->v, ar->n, base, seq, keys, &n);
	older_of(ar->spare, ar->nspare, base, seq, keys, &n);
	return n;
}

size_t
binlog_prune(struct catalog *c, int dry_run, size_t *deleted, size_t *planned)
{
	struct binlog_archive	 ar;
	struct keyring		 kr;
	char			 err[KB_ERRLEN], id[BACKUP_ID_MAX], base[BOBJ_NAME_MAX];
	char			 count[24], **keys, file[BOBJ_NAME_MAX];
	uint32_t		 seq = 0;
	size_t			 n, failed = 0;

	if (cutoff(c, base, sizeof(base), &seq, id, sizeof(id), file) != 1)
		return 0;
	if (retention_running(c)) {
		log_kv(LOGL_INFO, "prune: binary logs kept while a backup is in progress", NULL);
		return 0;
	}
	if (keyring_load(c->loc->section, &kr, err, sizeof(err)) == -1 ||
	    binlog_archive_open(c->loc, c->r->base, &kr, &ar, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: binary log archive not listed", "error", err, NULL);
		keyring_free(&kr);
		return 1;
	}
	if (older(&ar, base, seq, &keys) > 0) {
		free(keys);
		/* The index proposed it; the manifests decide. */
		if (retention_refresh(c, kept_dump) == -1)
			failed++;
		else if (cutoff(c, base, sizeof(base), &seq, id, sizeof(id), file) == 1 &&
		    (n = older(&ar, base, seq, &keys)) > 0) {
			snprintf(count, sizeof(count), "%zu", n);
			if (dry_run) {
				printf("would delete %zu binary log piece%s before %s (the oldest "
				    "backup kept, %s, starts there)\n", n, n == 1 ? "" : "s", file,
				    id);
				*planned += n;
			} else if ((failed += retention_remove(c, keys, n, deleted)) == 0)
				log_kv(LOGL_INFO, "pruned binary logs no backup kept needs",
				    "pieces", count, "before", file, "oldest_backup", id,
				    "location", c->loc->desc, NULL);
			free(keys);
		}
	}
	binlog_archive_close(&ar);
	keyring_free(&kr);
	return failed;
}
