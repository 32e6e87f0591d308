/*
 * seed_container: writes a seed corpus for fuzz_container into a directory:
 * small valid containers, unencrypted and under the fuzzer's raw key, each
 * with fuzz_container's two leading selector bytes.  tests/fuzz/corpus/container
 * holds its output (the encrypted ones differ on every run: random salt).
 *
 *	cc -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -I. \
 *	    $(pkg-config --cflags libbsd-overlay) -o seed tests/fuzz/seed_container.c \
 *	    runner/container.c common/util.c common/log.c \
 *	    $(pkg-config --libs libbsd-overlay openssl libzstd)
 *	./seed tests/fuzz/corpus/container
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/stream/container.h"

static const unsigned char fuzz_key[32] = "0123456789abcdef0123456789abcdef";

struct buf {
	unsigned char	p[4096];
	size_t		len;
};

static int
out(const void *p, size_t len, void *arg, char *err, size_t errlen)
{
	struct buf	*b = arg;

	if (b->len + len > sizeof(b->p))
		return errf(err, errlen, "seed too large");
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

int
main(int argc, char **argv)
{
	struct container_secret	 key = { "fuzz", fuzz_key, sizeof(fuzz_key), 1 };
	static const size_t	 sizes[] = { 0, 1, 100 };
	struct container_writer	*w;
	struct buf		 b;
	char			 err[KB_ERRLEN], *path;
	unsigned char		 payload[100];
	size_t			 i;
	int			 enc;
	FILE			*f;

	if (argc != 2) {
		fprintf(stderr, "usage: seed_container DIR\n");
		return 2;
	}
	memset(payload, 'a', sizeof(payload));
	for (enc = 0; enc < 2; enc++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			b.p[0] = (unsigned char)enc;
			b.p[1] = (unsigned char)(i * 7);
			b.len = 2;
			if (container_writer_new(&w, CONTAINER_COMP_NONE, enc ? &key : NULL,
			    out, &b, err, sizeof(err)) == -1 ||
			    container_writer_write(w, payload, sizes[i], err, sizeof(err)) == -1 ||
			    container_writer_finish(w, err, sizeof(err)) == -1) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
			container_writer_free(w);
			path = xasprintf("%s/seed-%s-%zu", argv[1], enc ? "raw" : "plain",
			    sizes[i]);
			if ((f = fopen(path, "wb")) == NULL ||
			    fwrite(b.p, 1, b.len, f) != b.len || fclose(f) != 0) {
				perror(path);
				return 1;
			}
			free(path);
		}
	}
	return 0;
}
