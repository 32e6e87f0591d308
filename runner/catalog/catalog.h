/*
 * catalog: the backups one location holds, read from their manifests (the
 * source of truth: the label index is only a cache of them), and the data
 * left without a manifest by interrupted runs.
 */
#ifndef KB_CATALOG_H
#define KB_CATALOG_H

#include <stddef.h>
#include <time.h>

#include "runner/catalog/manifest.h"
#include "runner/runner.h"

struct catalog {
	struct manifest	*backups;	/* oldest first */
	size_t		 n;
	char		**orphans;	/* IDs with data but no manifest */
	size_t		 norphans;
};

int	 catalog_load(struct runner *, struct location *, struct catalog *, char *err,
	    size_t errlen);
void	 catalog_free(struct catalog *);
/* single/manifest.json; -1 with *missing set when there is none. */
int	 catalog_single_manifest(struct runner *, struct location *, struct manifest *,
	    int *missing, char *err, size_t errlen);
/*
 * The IDs with data under single/ (mode = single), the current one among them;
 * free with catalog_ids_free().
 */
int	 catalog_single_data(struct runner *, struct location *, char ***ids, size_t *n,
	    char *err, size_t errlen);
void	 catalog_ids_free(char **ids, size_t n);
const struct manifest *catalog_find(const struct catalog *, const char *id);
const struct manifest *catalog_latest(const struct catalog *);
/* The newest backup that finished at or before t, or NULL. */
const struct manifest *catalog_at(const struct catalog *, time_t t);
/* "latest", an ID, or NULL with err. */
const struct manifest *catalog_select(const struct catalog *, const char *which, char *err,
	    size_t errlen);

#endif
