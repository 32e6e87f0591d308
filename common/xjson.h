/*
 * xjson: a jansson value's text for what is written or sent, with the
 * policy of xmalloc: running out of memory ends the program.
 */
#ifndef KB_XJSON_H
#define KB_XJSON_H

#include <jansson.h>

/* json_dumps(o, flags), o released; "kbackup: out of memory" and exit 1 on failure. */
char	*xjson_dumps(json_t *o, size_t flags);

#endif
