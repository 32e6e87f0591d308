/*
 * fuzz_labels: labels_index_from_json() on arbitrary bytes (labels.json is
 * read back from storage); what parses must serialize and parse again to the
 * same text, and survive a prune plan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/catalog/labels.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct labels_index		idx, again;
	struct labels_prune_plan	plan;
	char				err[KB_ERRLEN], *s, *s2;

	if (labels_index_from_json((const char *)data, size, &idx, err, sizeof(err)) == -1)
		return 0;
	s = labels_index_to_json(&idx);
	if (labels_index_from_json(s, strlen(s), &again, err, sizeof(err)) == -1)
		abort();
	s2 = labels_index_to_json(&again);
	if (strcmp(s, s2) != 0)
		abort();
	labels_plan_prune(&idx, 1764000000, &plan);
	labels_plan_free(&plan);
	free(s);
	free(s2);
	labels_index_free(&again);
	labels_index_free(&idx);
	return 0;
}
