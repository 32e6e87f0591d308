/*
 * layout: where things live in a location, relative to its root (the
 * storage layout of kbackup-format(5)).  BASE is NAMESPACE/NAME.
 *
 *   BASE/labels.json                  the label index (a cache of the manifests)
 *   BASE/running/ID.json              the marker of a backup in progress
 *   BASE/backups/ID/manifest.json     written last: the backup exists once it does
 *   BASE/backups/ID/data              the first part; further parts BASE/backups/ID/part-N
 *   BASE/single/manifest.json         mode = single: names the one backup
 *   BASE/single/ID/data               its data
 *
 * The catalog lists backups/ (or single/) and running/ only: what else a
 * base holds (a WAL archive) is not walked at every job.
 *
 * Every function returns a new string.
 */
#ifndef KB_LAYOUT_H
#define KB_LAYOUT_H

#include <stddef.h>

char	*layout_backups_prefix(const char *base);		/* BASE/backups/ */
char	*layout_backup_prefix(const char *base, const char *id);	/* BASE/backups/ID/ */
char	*layout_manifest_key(const char *base, const char *id);
/* Part n (0 first) of a retained backup, or of a single one. */
char	*layout_part_key(const char *base, const char *id, size_t n, int single);
char	*layout_markers_prefix(const char *base);		/* BASE/running/ */
char	*layout_marker_key(const char *base, const char *id);
char	*layout_index_key(const char *base);
char	*layout_single_prefix(const char *base);		/* BASE/single/ */
char	*layout_single_backup_prefix(const char *base, const char *id); /* BASE/single/ID/ */
char	*layout_single_manifest_key(const char *base);

#endif
