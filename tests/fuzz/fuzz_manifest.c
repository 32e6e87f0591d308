/*
 * fuzz_manifest: manifest.json as read back from storage someone else runs.
 * Whatever parses must serialise and parse again to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/catalog/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest	 m, m2;
	char		 err[KB_ERRLEN], *a, *b;

	if (manifest_from_json((const char *)data, size, &m, err, sizeof(err)) == -1)
		return 0;
	a = manifest_to_json(&m);
	if (manifest_from_json(a, strlen(a), &m2, err, sizeof(err)) == -1)
		abort();
	b = manifest_to_json(&m2);
	if (strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	manifest_free(&m);
	manifest_free(&m2);
	return 0;
}
