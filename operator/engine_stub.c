/*
 * engine_stub: a weak engine_find() for as long as engines/registry.c is
 * not in the tree, so that the operator links; the real registry replaces
 * it.  Delete this file once engines/registry.c has landed.
 */
#include <stddef.h>

#include "engines/engine.h"

__attribute__((weak)) const struct engine_ops *
engine_find(const char *name)
{
	(void)name;
	return NULL;
}
