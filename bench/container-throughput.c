/*
 * container-throughput: MB/s of the container writer and reader on 512 MiB
 * of incompressible data (compression none), unencrypted and with
 * AES-256-GCM under a raw key.  The stored stream is kept in memory so
 * that only the container's own work is timed.
 *
 *	cc -O2 -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -I. \
 *	    $(pkg-config --cflags libbsd-overlay) -o container-throughput \
 *	    bench/container-throughput.c runner/container.c common/util.c common/log.c \
 *	    $(pkg-config --libs libbsd-overlay openssl)
 *	./container-throughput [MiB]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/util.h"
#include "runner/stream/container.h"

#define SRC_LEN		(8 * 1024 * 1024)

struct sink {
	unsigned char	*p;		/* NULL: count only */
	size_t		 len, cap;
};

static const unsigned char bench_key[32] = "0123456789abcdef0123456789abcdef";

static int
sink_out(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct sink	*s = arg;

	if (s->p != NULL) {
		if (s->len + len > s->cap)
			return errf(err, errlen, "sink full");
		memcpy(s->p + s->len, buf, len);
	}
	s->len += len;
	return 0;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "container-throughput: %s: %s\n", what, err);
	exit(1);
}

/* Writes total bytes (src repeated) in chunks of 128 KiB, as a pipe delivers them. */
static double
bench_write(const struct container_secret *key, const unsigned char *src, size_t total,
    struct sink *stored)
{
	struct container_writer	*w;
	char			 err[KB_ERRLEN];
	size_t			 off, n, chunk = 128 * 1024;
	double			 t0;

	t0 = monotonic_seconds();
	if (container_writer_new(&w, CONTAINER_COMP_NONE, key, sink_out, stored, err,
	    sizeof(err)) == -1)
		die("writer", err);
	for (off = 0; off < total; off += n) {
		n = total - off < chunk ? total - off : chunk;
		if (container_writer_write(w, src + off % SRC_LEN, n, err, sizeof(err)) == -1)
			die("write", err);
	}
	if (container_writer_finish(w, err, sizeof(err)) == -1)
		die("finish", err);
	container_writer_free(w);
	return monotonic_seconds() - t0;
}

static double
bench_read(const struct container_secret *key, const struct sink *stored, size_t chunk,
    size_t expect)
{
	struct container_reader	*r;
	struct sink		 out = { NULL, 0, 0 };
	char			 err[KB_ERRLEN];
	size_t			 off, n;
	double			 t0;

	t0 = monotonic_seconds();
	if (container_reader_new(&r, key, key != NULL, "bench", sink_out, &out, err,
	    sizeof(err)) == -1)
		die("reader", err);
	for (off = 0; off < stored->len; off += n) {
		n = stored->len - off < chunk ? stored->len - off : chunk;
		if (container_reader_feed(r, stored->p + off, n, err, sizeof(err)) == -1)
			die("feed", err);
	}
	if (container_reader_finish(r, err, sizeof(err)) == -1)
		die("finish", err);
	container_reader_free(r);
	if (out.len != expect)
		die("read", "wrong length");
	return monotonic_seconds() - t0;
}

int
main(int argc, char **argv)
{
	struct container_secret	 raw = { "bench", bench_key, sizeof(bench_key), 1 };
	const struct container_secret *keys[2] = { NULL, &raw };
	const char		*names[2] = { "none", "aes-256-gcm" };
	struct sink		 stored;
	unsigned char		*src;
	size_t			 total = (size_t)512 << 20;
	double			 mb, t;
	int			 i;

	if (argc > 1)
		total = (size_t)strtoul(argv[1], NULL, 10) << 20;
	mb = (double)total / 1e6;
	src = xmalloc(SRC_LEN + 128 * 1024);
	if (RAND_bytes(src, SRC_LEN + 128 * 1024) != 1)
		die("random", "RAND_bytes failed");
	stored.cap = total + total / 1000 + 4096;
	stored.p = xmalloc(stored.cap);
	memset(stored.p, 0, stored.cap);	/* fault the pages in before timing */

	printf("%zu MiB, incompressible, compression none\n", total >> 20);
	for (i = 0; i < 2; i++) {
		stored.len = 0;
		t = bench_write(keys[i], src, total, &stored);
		printf("write  %-12s %8.0f MB/s\n", names[i], mb / t);
		t = bench_read(keys[i], &stored, 16 * 1024, total);
		printf("read   %-12s %8.0f MB/s  (16 KiB chunks)\n", names[i], mb / t);
		t = bench_read(keys[i], &stored, 4 * 1024 * 1024, total);
		printf("read   %-12s %8.0f MB/s  (4 MiB chunks)\n", names[i], mb / t);
	}
	free(stored.p);
	free(src);
	return 0;
}
