/*
 * compress: streaming zstd both ways, or pass-through for compression = none.
 *
 * Memory is bounded by zstd's recommended stream buffer sizes (about 128 KiB
 * each way) plus the compression context; output is handed to the callback
 * each time the output buffer fills or the stream is flushed.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "common/util.h"
#include "runner/stream/compress.h"

#define COMPRESS_JOB_SIZE	(1024 * 1024)

struct compressor {
	enum container_compression	 comp;
	ZSTD_CCtx			*cctx;
	unsigned char			*obuf;
	size_t				 osize;
	container_out_fn		 out;
	void				*arg;
	int				 failed;
};

struct decompressor {
	enum container_compression	 comp;
	ZSTD_DCtx			*dctx;
	unsigned char			*obuf;
	size_t				 osize;
	size_t				 pending;	/* zstd's hint: 0 when a frame is complete */
	int				 full;		/* last call filled the output buffer */
	container_out_fn		 out;
	void				*arg;
	int				 failed;
};

int
compressor_new(struct compressor **cp, enum container_compression comp, int level,
    int threads, container_out_fn out, void *arg, char *err, size_t errlen)
{
	struct compressor	*c;
	size_t			 r;

	*cp = NULL;
	if (comp != CONTAINER_COMP_NONE && comp != CONTAINER_COMP_ZSTD)
		return errf(err, errlen, "unknown compression %d", (int)comp);
	c = xcalloc(1, sizeof(*c));
	c->comp = comp;
	c->out = out;
	c->arg = arg;
	if (comp == CONTAINER_COMP_NONE) {
		*cp = c;
		return 0;
	}
	if (level < 1 || level > ZSTD_maxCLevel()) {
		free(c);
		return errf(err, errlen, "zstd level %d out of range 1..%d", level,
		    ZSTD_maxCLevel());
	}
	if (threads < 0)
		threads = 0;
	if ((c->cctx = ZSTD_createCCtx()) == NULL) {
		free(c);
		return errf(err, errlen, "zstd: cannot create compression context");
	}
	r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r) && threads > 0)
		r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_nbWorkers, threads);
	/*
	 * Workers buffer a few jobs each; zstd's default job (4 windows, 8 MiB
	 * at level 3) costs tens of MiB.  Small jobs keep memory bounded at a
	 * small loss of ratio.  Not the smallest zstd takes (512 KiB): a job
	 * then lasts about one scheduler time slice, and on cores that the
	 * dump shares the workers run dry whenever the reading thread waits
	 * for a core (docs/BENCHMARKS.md: 1 MiB costs 3 MiB more than 512 KiB
	 * and gains as much as zstd's default).
	 */
	if (!ZSTD_isError(r) && threads > 0)
		r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_jobSize, COMPRESS_JOB_SIZE);
	if (ZSTD_isError(r)) {
		errf(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
		compressor_free(c);
		return -1;
	}
	c->osize = ZSTD_CStreamOutSize();
	c->obuf = xmalloc(c->osize);
	*cp = c;
	return 0;
}

/* Runs the compressor over in with the given directive, emitting every full or final buffer. */
static int
compressor_run(struct compressor *c, const void *buf, size_t len, ZSTD_EndDirective mode,
    char *err, size_t errlen)
{
	ZSTD_inBuffer	 in = { buf, len, 0 };
	ZSTD_outBuffer	 ob;
	size_t		 r;

	if (c->failed)
		return errf(err, errlen, "compressor used after an error");
	for (;;) {
		ob.dst = c->obuf;
		ob.size = c->osize;
		ob.pos = 0;
		r = ZSTD_compressStream2(c->cctx, &ob, &in, mode);
		if (ZSTD_isError(r)) {
			c->failed = 1;
			return errf(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
		}
		if (ob.pos > 0 && c->out(c->obuf, ob.pos, c->arg, err, errlen) == -1) {
			c->failed = 1;
			return -1;
		}
		if (mode == ZSTD_e_continue && in.pos == in.size)
			return 0;
		if (mode == ZSTD_e_end && r == 0)
			return 0;
	}
}

int
compressor_write(struct compressor *c, const void *buf, size_t len, char *err, size_t errlen)
{
	if (len == 0)
		return 0;
	if (c->comp == CONTAINER_COMP_NONE)
		return c->out(buf, len, c->arg, err, errlen);
	return compressor_run(c, buf, len, ZSTD_e_continue, err, errlen);
}

int
compressor_set_level(struct compressor *c, int level, char *err, size_t errlen)
{
	size_t	r;

	if (c->comp == CONTAINER_COMP_NONE)
		return 0;
	r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
	if (ZSTD_isError(r)) {
		c->failed = 1;
		return errf(err, errlen, "zstd level %d: %s", level, ZSTD_getErrorName(r));
	}
	return 0;
}

int
compressor_finish(struct compressor *c, char *err, size_t errlen)
{
	if (c->comp == CONTAINER_COMP_NONE)
		return 0;
	return compressor_run(c, NULL, 0, ZSTD_e_end, err, errlen);
}

void
compressor_free(struct compressor *c)
{
	if (c == NULL)
		return;
	ZSTD_freeCCtx(c->cctx);
	free(c->obuf);
	free(c);
}

int
decompressor_new(struct decompressor **dp, enum container_compression comp,
    container_out_fn out, void *arg, char *err, size_t errlen)
{
	struct decompressor	*d;

	*dp = NULL;
	if (comp != CONTAINER_COMP_NONE && comp != CONTAINER_COMP_ZSTD)
		return errf(err, errlen, "unknown compression %d", (int)comp);
	d = xcalloc(1, sizeof(*d));
	d->comp = comp;
	d->out = out;
	d->arg = arg;
	d->pending = 1;		/* an empty zstd stream is incomplete */
	if (comp == CONTAINER_COMP_ZSTD) {
		if ((d->dctx = ZSTD_createDCtx()) == NULL) {
			free(d);
			return errf(err, errlen, "zstd: cannot create decompression context");
		}
		d->osize = ZSTD_DStreamOutSize();
		d->obuf = xmalloc(d->osize);
	}
	*dp = d;
	return 0;
}

/*
 * Feeds in to zstd until it is consumed and zstd holds no more output for
 * us (a full output buffer means there may be more, unless zstd said the
 * frame is complete).
 */
static int
decompressor_run(struct decompressor *d, const void *buf, size_t len, char *err,
    size_t errlen)
{
	ZSTD_inBuffer	 in = { buf, len, 0 };
	ZSTD_outBuffer	 ob;
	size_t		 r;

	if (d->failed)
		return errf(err, errlen, "decompressor used after an error");
	do {
		ob.dst = d->obuf;
		ob.size = d->osize;
		ob.pos = 0;
		r = ZSTD_decompressStream(d->dctx, &ob, &in);
		if (ZSTD_isError(r)) {
			d->failed = 1;
			return errf(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
		}
		d->pending = r;
		d->full = ob.pos == ob.size;
		if (ob.pos > 0 && d->out(d->obuf, ob.pos, d->arg, err, errlen) == -1) {
			d->failed = 1;
			return -1;
		}
		/*
		 * 0 means the frame is decoded and flushed: calling again with
		 * no input would start on a next frame and report it missing.
		 */
	} while (in.pos < in.size || (d->full && r != 0));
	return 0;
}

int
decompressor_write(struct decompressor *d, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (len == 0)
		return 0;
	if (d->comp == CONTAINER_COMP_NONE)
		return d->out(buf, len, d->arg, err, errlen);
	return decompressor_run(d, buf, len, err, errlen);
}

int
decompressor_finish(struct decompressor *d, char *err, size_t errlen)
{
	if (d->comp == CONTAINER_COMP_NONE)
		return 0;
	if (d->failed)
		return errf(err, errlen, "decompressor used after an error");
	if (d->pending != 0)
		return errf(err, errlen, "zstd stream is incomplete (truncated)");
	return 0;
}

void
decompressor_free(struct decompressor *d)
{
	if (d == NULL)
		return;
	ZSTD_freeDCtx(d->dctx);
	free(d->obuf);
	free(d);
}
