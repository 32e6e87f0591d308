/*
 * registry: the storage backends the runner knows.  Adding a backend: its
 * file, and one line here.
 */
#include <string.h>

#include "common/util.h"
#include "storage/storage.h"

extern const struct storage_ops storage_file;
extern const struct storage_ops storage_s3;

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
		if (strcmp(storage_registry[i]->type, type) == 0)
			return storage_registry[i];
	return NULL;
}

const char *
storage_types(void)
{
	static char	types[128];
	size_t		i;

	if (types[0] != '\0')
		return types;
	for (i = 0; storage_registry[i] != NULL; i++) {
		if (i > 0)
			strlcat(types, "|", sizeof(types));
		strlcat(types, storage_registry[i]->type, sizeof(types));
	}
	return types;
}
