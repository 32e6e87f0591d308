/*
 * compress: streaming zstd in both directions, with a pass-through mode for
 * compression = none, so the pipeline has one path.
 */
#ifndef KB_COMPRESS_H
#define KB_COMPRESS_H

#include <stddef.h>

#include "runner/stream/container.h"

struct compressor;
struct decompressor;

/* compression = zstd:auto's level (compression_parse()): autolevel.h decides. */
#define COMPRESS_LEVEL_AUTO	0

/* level: 1..19 for zstd; threads: zstd workers (0: in the caller's thread). */
int	 compressor_new(struct compressor **, enum container_compression, int level,
	    int threads, container_out_fn, void *arg, char *err, size_t errlen);
int	 compressor_write(struct compressor *, const void *, size_t, char *err, size_t errlen);
/*
 * A new level for what follows, in the same zstd stream (with workers only:
 * zstd applies it from their next job on).
 */
int	 compressor_set_level(struct compressor *, int level, char *err, size_t errlen);
int	 compressor_finish(struct compressor *, char *err, size_t errlen);
void	 compressor_free(struct compressor *);

int	 decompressor_new(struct decompressor **, enum container_compression,
	    container_out_fn, void *arg, char *err, size_t errlen);
int	 decompressor_write(struct decompressor *, const void *, size_t, char *err,
	    size_t errlen);
/* Fails if the zstd stream is incomplete. */
int	 decompressor_finish(struct decompressor *, char *err, size_t errlen);
void	 decompressor_free(struct decompressor *);

#endif
