/*
 * xjson: jansson's text with xmalloc's policy.  See xjson.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/xjson.h"

char *
xjson_dumps(json_t *o, size_t flags)
{
	char	*s = json_dumps(o, flags);

	json_decref(o);
	if (s == NULL) {
		fputs("kbackup: out of memory\n", stderr);
		exit(1);
	}
	return s;
}
