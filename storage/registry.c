/*
 * registry: the storage backends kbackup knows, in two tables: what the
 * config schema and the operator read of each (storage_descs), and what the
 * runner uses (storage_registry).  The operator is linked with --gc-sections
 * and references only the first, so none of the transfer code, nor the
 * libraries only it needs (libxml2), is in it.  Adding a backend: its file,
 * and its line in each table.
 */
#include <string.h>

#include "common/util.h"
#include "storage/storage.h"

extern const struct storage_desc storage_file_desc;
extern const struct storage_desc storage_s3_desc;
extern const struct storage_ops storage_file;
extern const struct storage_ops storage_s3;

const struct storage_desc *const storage_descs[] = {
	&storage_file_desc,
	&storage_s3_desc,
	NULL
};

const struct storage_ops *const storage_registry[] = {
	&storage_file,
	&storage_s3,
	NULL
};

const struct storage_ops *
storage_find(const char *type)
{
	size_t	i;

	for (i = 0; storage_registry[i] != NULL; i++)
		if (strcmp(storage_registry[i]->desc->type, type) == 0)
			return storage_registry[i];
	return NULL;
}

const struct storage_desc *
storage_desc_find(const char *type)
{
	size_t	i;

	for (i = 0; storage_descs[i] != NULL; i++)
		if (strcmp(storage_descs[i]->type, type) == 0)
			return storage_descs[i];
	return NULL;
}

const char *
storage_types(void)
{
	static char	types[128];
	size_t		i;

	if (types[0] != '\0')
		return types;
	for (i = 0; storage_descs[i] != NULL; i++) {
		if (i > 0)
			strlcat(types, "|", sizeof(types));
		strlcat(types, storage_descs[i]->type, sizeof(types));
	}
	return types;
}
