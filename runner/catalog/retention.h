/*
 * retention: the label index of one location as storage holds it.
 *
 * labels.json (layout_labels_key) is a cache of what the manifests record.
 * Reading it falls back to rebuilding it from the manifests when it is
 * missing or unreadable (with a warning); given the catalog (prune reads it
 * anyway), the index is also reconciled with it: a backup whose manifest
 * exists but that the index lacks (labels.json not written after its
 * manifest) is added with the labels its manifest records, and an entry
 * without a manifest is dropped.  Writing replaces labels.json whole
 * (storage_put_buffer: a file is renamed into place, an S3 PUT is atomic).
 */
#ifndef KB_RETENTION_H
#define KB_RETENTION_H

#include <stddef.h>

#include "runner/catalog/catalog.h"
#include "runner/catalog/labels.h"
#include "runner/runner.h"

/* The rules of [retention]. */
int	 retention_rules(const struct runner *, struct label_rules *, char *err,
	    size_t errlen);
/*
 * Loads the index of loc into idx.  c: the location's catalog, or NULL (then
 * it is read only if labels.json must be rebuilt).  *changed is set when the
 * index differs from what labels.json held (rebuilt or reconciled).
 */
int	 retention_index_load(struct runner *, struct location *, const struct catalog *c,
	    struct labels_index *idx, int *changed, char *err, size_t errlen);
int	 retention_index_save(struct runner *, struct location *,
	    const struct labels_index *, char *err, size_t errlen);
/* The index record a retained manifest stands for (free with labels_backup_free). */
void	 retention_record(const struct manifest *, struct labels_backup *);

#endif
