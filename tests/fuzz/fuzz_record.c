/*
 * fuzz_record: manifest.json as read back from storage someone else runs.
 * Whatever parses must serialise and parse again to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/catalog/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backup_record	 m, m2;
	char			 err[KB_ERRLEN], *a, *b;

	if (record_parse((const char *)data, size, &m, err, sizeof(err)) == -1)
		return 0;
	a = record_to_text(&m);
	if (record_parse(a, strlen(a), &m2, err, sizeof(err)) == -1)
		abort();
	b = record_to_text(&m2);
	if (strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	record_free(&m);
	record_free(&m2);
	return 0;
}
