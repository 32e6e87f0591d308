/*
 * index: labels.json, the cache of a location's manifests.
 *
 *   {"version": 2, "definition": "NAMESPACE/NAME",
 *    "backups": [{"stamp": STAMP, "manifest": RECORD}, ...]}
 *
 * RECORD is the manifest's own JSON form (record.h); STAMP is the stamp the
 * listing gave the manifest when it was read (storage.h): a manifest whose
 * stamp has changed since is read again, so a cache that is stale, edited
 * or of an older version only costs reads -- nothing is ever decided on its
 * word alone.  An index that does not parse, is of another version or
 * definition, or breaks any bound is ignored whole, with a warning.
 */
#ifndef KB_INDEX_H
#define KB_INDEX_H

#include <stddef.h>

#include "runner/catalog/record.h"

#define INDEX_VERSION	2
#define INDEX_JSON_MAX	(256 * 1024 * 1024)
#define INDEX_MAX	100000

struct index_entry {
	char			*stamp;
	struct backup_record	 rec;
};

struct index {
	struct index_entry	*v;		/* by ID once sorted */
	size_t			 n;
	int			 unsorted;
};

int	 index_parse(const char *buf, size_t len, const char *definition, struct index *,
	    char *err, size_t errlen);
/* The index's text (free it). */
char	*index_to_text(const struct index *, const char *definition);
/* Takes a copy of rec. */
void	 index_add(struct index *, const char *stamp, const struct backup_record *);
const struct index_entry *index_find(struct index *, const char *id);
void	 index_free(struct index *);

#endif
