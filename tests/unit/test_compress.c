/*
 * test_compress: zstd and pass-through streams, both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "runner/stream/compress.h"
#include "tests/unit/testutil.h"

/* Text-like data that compresses, or noise that does not. */
static unsigned char *
make_data(size_t len, int noise)
{
	unsigned char	*d = xmalloc(len);
	uint32_t	 x = 12345;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = noise ? (unsigned char)x : (unsigned char)("INSERT INTO t VALUES (1);\n"[i % 26] +
		    (x % 97 == 0));
	}
	return d;
}

static void
compress_all(enum container_compression comp, int level, int threads,
    const unsigned char *data, size_t len, size_t chunk, struct tbuf *out)
{
	struct compressor	*c;
	char			 err[KB_ERRLEN];
	size_t			 off, n;

	memset(out, 0, sizeof(*out));
	assert_int_equal(compressor_new(&c, comp, level, threads, tbuf_out, out, err,
	    sizeof(err)), 0);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(compressor_write(c, data + off, n, err, sizeof(err)), 0);
	}
	assert_int_equal(compressor_finish(c, err, sizeof(err)), 0);
	compressor_free(c);
}

static int
decompress_all(enum container_compression comp, const void *in, size_t len,
    size_t chunk, struct tbuf *out, char *err, size_t errlen)
{
	const unsigned char	*data = in;
	struct decompressor	*d;
	size_t			 off, n;
	int			 rc = 0;

	memset(out, 0, sizeof(*out));
	assert_int_equal(decompressor_new(&d, comp, tbuf_out, out, err, errlen), 0);
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < chunk ? len - off : chunk;
		rc = decompressor_write(d, data + off, n, err, errlen);
	}
	if (rc == 0)
		rc = decompressor_finish(d, err, errlen);
	decompressor_free(d);
	return rc;
}

static void
roundtrip(enum container_compression comp, int level, int threads, size_t len, int noise,
    size_t wchunk, size_t rchunk)
{
	struct tbuf	 z, out;
	unsigned char	*data = make_data(len, noise);
	char		 err[KB_ERRLEN];

	compress_all(comp, level, threads, data, len, wchunk, &z);
	if (comp == CONTAINER_COMP_ZSTD && !noise && len > 100000)
		assert_true(z.len < len / 4);
	if (comp == CONTAINER_COMP_NONE)
		assert_int_equal(z.len, len);
	if (decompress_all(comp, z.data, z.len, rchunk, &out, err, sizeof(err)) != 0)
		fail_msg("decompress (len %zu level %d threads %d): %s", len, level, threads, err);
	assert_int_equal(out.len, len);
	if (len > 0)
		assert_memory_equal(out.data, data, len);
	/* Bounded buffers: no single output call larger than zstd's stream buffer. */
	if (comp == CONTAINER_COMP_ZSTD)
		assert_true(out.max_call <= 256 * 1024);
	tbuf_free(&z);
	tbuf_free(&out);
	free(data);
}

static void
test_zstd_roundtrip(void **state)
{
	roundtrip(CONTAINER_COMP_ZSTD, 3, 0, 0, 0, 1, 1);
	roundtrip(CONTAINER_COMP_ZSTD, 3, 0, 1, 0, 1, 1);
	roundtrip(CONTAINER_COMP_ZSTD, 1, 0, 100000, 1, 7, 3);
	roundtrip(CONTAINER_COMP_ZSTD, 3, 0, 5 << 20, 0, 65536, 4096);
	roundtrip(CONTAINER_COMP_ZSTD, 19, 0, 300000, 0, 1 << 20, 1 << 20);
	roundtrip(CONTAINER_COMP_ZSTD, 3, 2, 9 << 20, 0, 1 << 20, 100000);
	roundtrip(CONTAINER_COMP_ZSTD, 3, 2, 3 << 20, 1, 12345, 1 << 20);
}

static void
test_none_roundtrip(void **state)
{
	roundtrip(CONTAINER_COMP_NONE, 0, 0, 0, 0, 1, 1);
	roundtrip(CONTAINER_COMP_NONE, 0, 0, 1000, 1, 7, 13);
}

static void
test_truncated(void **state)
{
	struct tbuf	 z, out;
	unsigned char	*data = make_data(1 << 20, 1);
	char		 err[KB_ERRLEN];

	compress_all(CONTAINER_COMP_ZSTD, 3, 0, data, 1 << 20, 1 << 20, &z);
	assert_int_equal(decompress_all(CONTAINER_COMP_ZSTD, z.data, z.len - 1, 4096, &out, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "zstd stream is incomplete (truncated)");
	tbuf_free(&out);
	assert_int_equal(decompress_all(CONTAINER_COMP_ZSTD, z.data, 0, 4096, &out, err,
	    sizeof(err)), -1);
	tbuf_free(&out);
	tbuf_free(&z);
	free(data);
}

static void
test_garbage(void **state)
{
	struct tbuf	 out;
	unsigned char	*data = make_data(1000, 1);
	char		 err[KB_ERRLEN];

	assert_int_equal(decompress_all(CONTAINER_COMP_ZSTD, data, 1000, 100, &out, err,
	    sizeof(err)), -1);
	assert_true(startswith(err, "zstd: "));
	tbuf_free(&out);
	free(data);
}

static void
test_bad_args(void **state)
{
	struct compressor	*c;
	struct decompressor	*d;
	char			 err[KB_ERRLEN];

	assert_int_equal(compressor_new(&c, CONTAINER_COMP_ZSTD, 0, 0, tbuf_out, NULL, err,
	    sizeof(err)), -1);
	assert_null(c);
	assert_int_equal(compressor_new(&c, 7, 3, 0, tbuf_out, NULL, err, sizeof(err)), -1);
	assert_int_equal(decompressor_new(&d, 7, tbuf_out, NULL, err, sizeof(err)), -1);
	assert_null(d);
}
/* zstd:auto's level changes between writes: one stream, read back as any other. */
static void
test_level_changes(void **state)
{
	struct compressor	*c;
	struct tbuf		 z, out;
	unsigned char		*data = make_data(6 << 20, 0);
	char			 err[KB_ERRLEN];
	size_t			 off, chunk = 128 * 1024;
	int			 levels[] = { 3, 1, 6, 2, 4 };

	(void)state;
	memset(&z, 0, sizeof(z));
	assert_int_equal(compressor_new(&c, CONTAINER_COMP_ZSTD, 3, 2, tbuf_out, &z, err,
	    sizeof(err)), 0);
	for (off = 0; off < (6 << 20); off += chunk) {
		if (off % (1 << 20) == 0)
			assert_int_equal(compressor_set_level(c, levels[(off >> 20) % 5], err,
			    sizeof(err)), 0);
		assert_int_equal(compressor_write(c, data + off, chunk, err, sizeof(err)), 0);
	}
	assert_int_equal(compressor_finish(c, err, sizeof(err)), 0);
	compressor_free(c);
	if (decompress_all(CONTAINER_COMP_ZSTD, z.data, z.len, 65536, &out, err, sizeof(err)) != 0)
		fail_msg("decompress: %s", err);
	assert_int_equal(out.len, 6 << 20);
	assert_memory_equal(out.data, data, 6 << 20);
	tbuf_free(&z);
	tbuf_free(&out);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zstd_roundtrip),
		cmocka_unit_test(test_level_changes),
		cmocka_unit_test(test_none_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
