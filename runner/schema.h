/*
 * schema: the whole kbackup.conf(5) schema as the runner knows it — the core
 * sections of common/config, a section per registered engine, and the
 * storage section with the keys of every registered backend — and the checks
 * that span sections (the engine's section present, at least one storage).
 */
#ifndef KB_SCHEMA_H
#define KB_SCHEMA_H

#include "common/config.h"

const struct config_section_schema *runner_schema(void);
/* config_load() with the runner's schema and cross-section checks. */
int	 runner_config_load(const char *path, struct config **, char *err, size_t errlen);
/* The cross-section checks alone (the operator runs them on what it renders). */
int	 runner_config_check(const struct config *, char *err, size_t errlen);
/*
 * Parses [backup] compression: "none" → level 0, "zstd" → 3, "zstd:N",
 * "zstd:auto" → COMPRESS_LEVEL_AUTO (runner/stream/compress.h).
 */
int	 compression_parse(const char *, int *zstd, int *level);

#endif
