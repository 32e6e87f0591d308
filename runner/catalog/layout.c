/*
 * layout: the keys of kbackup-format(5).  See layout.h.
 */
#include <stdlib.h>

#include "common/util.h"
#include "runner/catalog/layout.h"

char *
layout_backups_prefix(const char *base)
{
	return xasprintf("%s/backups/", base);
}

char *
layout_backup_prefix(const char *base, const char *id)
{
	return xasprintf("%s/backups/%s/", base, id);
}

char *
layout_manifest_key(const char *base, const char *id)
{
	return xasprintf("%s/backups/%s/manifest.json", base, id);
}

char *
layout_part_key(const char *base, const char *id, size_t n, int single)
{
	const char	*dir = single ? "single" : "backups";

	if (n == 0)
		return xasprintf("%s/%s/%s/data", base, dir, id);
	return xasprintf("%s/%s/%s/part-%zu", base, dir, id, n);
}

char *
layout_markers_prefix(const char *base)
{
	return xasprintf("%s/running/", base);
}

char *
layout_marker_key(const char *base, const char *id)
{
	return xasprintf("%s/running/%s.json", base, id);
}

char *
layout_index_key(const char *base)
{
	return xasprintf("%s/labels.json", base);
}

char *
layout_single_prefix(const char *base)
{
	return xasprintf("%s/single/", base);
}

char *
layout_single_backup_prefix(const char *base, const char *id)
{
	return xasprintf("%s/single/%s/", base, id);
}

char *
layout_single_manifest_key(const char *base)
{
	return xasprintf("%s/single/manifest.json", base);
}
