/*
 * fuzz_index: labels.json and job markers on arbitrary bytes (both are read
 * back from storage); an index that parses must serialise and parse again
 * to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/catalog/index.h"
#include "runner/catalog/marker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index	 idx, again;
	struct marker	 m;
	char		 err[KB_ERRLEN], *s, *s2;

	if (marker_parse((const char *)data, size, &m, err, sizeof(err)) == 0) {
		s = marker_to_text(&m);
		if (marker_parse(s, strlen(s), &m, err, sizeof(err)) == -1)
			abort();
		free(s);
	}
	if (index_parse((const char *)data, size, "test/orders", &idx, err,
	    sizeof(err)) == -1)
		return 0;
	s = index_to_text(&idx, "test/orders");
	if (index_parse(s, strlen(s), "test/orders", &again, err, sizeof(err)) == -1)
		abort();
	s2 = index_to_text(&again, "test/orders");
	if (strcmp(s, s2) != 0)
		abort();
	free(s);
	free(s2);
	index_free(&again);
	index_free(&idx);
	return 0;
}
