/*
 * test_container: round trips through the container writer and reader, and
 * every kind of damage the format must detect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "common/util.h"
#include "runner/stream/container.h"
#include "tests/unit/testutil.h"

#define FS	CONTAINER_FRAME_SIZE
#define HDR	96
#define FRAME	(5 + FS + 16)		/* a full data frame on disk */
#define TRAILER	(5 + 16 + 16)

static const unsigned char key_a[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[32] = "fedcba9876543210fedcba9876543210";

static const struct container_secret raw_a = { "encryption_key", key_a, 32, 1 };
static const struct container_secret raw_b = { "encryption_key_old.b", key_b, 32, 1 };
static const struct container_secret pass_a = {
	"encryption_key", (const unsigned char *)"correct horse", 13, 0
};
static const struct container_secret pass_b = {
	"encryption_key_old.x", (const unsigned char *)"battery staple", 14, 0
};

/* Deterministic pseudo-random bytes. */
static unsigned char *
make_data(size_t len, unsigned int seed)
{
	unsigned char	*d = xmalloc(len);
	uint32_t	 x = seed * 2654435761u + 1;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (unsigned char)x;
	}
	return d;
}

/* Writes data in chunks of chunk bytes (0: all at once) into *stored. */
static void
write_container(const unsigned char *data, size_t len, const struct container_secret *s,
    size_t chunk, struct tbuf *stored, struct container_info *info)
{
	struct container_writer	*w;
	char			 err[KB_ERRLEN];
	size_t			 off, n;

	memset(stored, 0, sizeof(*stored));
	assert_int_equal(container_writer_new(&w, CONTAINER_COMP_ZSTD, s, tbuf_out, stored,
	    err, sizeof(err)), 0);
	for (off = 0; off < len; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		assert_int_equal(container_writer_write(w, data + off, n, err, sizeof(err)), 0);
	}
	assert_int_equal(container_writer_finish(w, err, sizeof(err)), 0);
	if (info != NULL)
		container_writer_info(w, info);
	container_writer_free(w);
}

/*
 * Reads stored in chunks: chunk > 0 fixed size, chunk == 0 all at once,
 * chunk < 0 random sizes up to -chunk.  Returns the reader's result; err
 * holds the message of the first failure (feed or finish).
 */
static int
read_container(const void *in, size_t len, const struct container_secret *s,
    size_t ns, long chunk, struct tbuf *out, char *err, size_t errlen,
    struct container_info *info)
{
	const unsigned char	*stored = in;
	struct container_reader	*r;
	size_t			 off, n;
	int			 rc = 0;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	assert_int_equal(container_reader_new(&r, s, ns, "20261124T030000Z", tbuf_out, out,
	    err, errlen), 0);
	srand(42);
	for (off = 0; off < len && rc == 0; off += n) {
		if (chunk == 0)
			n = len;
		else if (chunk > 0)
			n = (size_t)chunk;
		else
			n = 1 + (size_t)rand() % (size_t)-chunk;
		if (n > len - off)
			n = len - off;
		rc = container_reader_feed(r, stored + off, n, err, errlen);
	}
	if (rc == 0)
		rc = container_reader_finish(r, err, errlen);
	if (info != NULL)
		container_reader_info(r, info);
	container_reader_free(r);
	return rc;
}

static void
roundtrip(size_t len, const struct container_secret *s, size_t wchunk, long rchunk)
{
	struct container_info	 wi, ri;
	struct tbuf		 stored, out;
	unsigned char		*data = make_data(len, (unsigned)len);
	char			 err[KB_ERRLEN];
	size_t			 frames = (len + FS - 1) / FS;

	write_container(data, len, s, wchunk, &stored, &wi);
	assert_int_equal(stored.len, HDR + len + frames * 21 + TRAILER);
	assert_int_equal(wi.stored_bytes, stored.len);
	assert_int_equal(wi.payload_bytes, len);
	assert_int_equal(wi.frames, frames);
	if (s != NULL && len > 64)	/* encrypted: the payload is not there in clear */
		assert_true(memcmp(stored.data + HDR + 5, data, 64) != 0);
	if (s == NULL && len > 0)
		assert_memory_equal(stored.data + HDR + 5, data, len < FS ? len : FS);

	if (read_container(stored.data, stored.len, s, s != NULL, rchunk, &out, err,
	    sizeof(err), &ri) != 0)
		fail_msg("read failed: %s", err);
	assert_int_equal(out.len, len);
	if (len > 0)
		assert_memory_equal(out.data, data, len);
	assert_int_equal(ri.frames, frames);
	assert_int_equal(ri.payload_bytes, len);
	assert_int_equal(ri.stored_bytes, stored.len);
	assert_string_equal(ri.cipher, wi.cipher);
	assert_string_equal(ri.kdf, wi.kdf);
	assert_string_equal(ri.salt_hex, wi.salt_hex);
	assert_int_equal(ri.compression, CONTAINER_COMP_ZSTD);
	tbuf_free(&stored);
	tbuf_free(&out);
	free(data);
}

static void
test_roundtrip_plain(void **state)
{
	roundtrip(0, NULL, 0, 0);
	roundtrip(0, NULL, 0, 1);
	roundtrip(1, NULL, 0, 1);
	roundtrip(1000, NULL, 7, -13);
	roundtrip(FS, NULL, 0, 0);
	roundtrip(FS, NULL, 4096, -100000);
	roundtrip(FS + 1, NULL, 0, 0);
	roundtrip(3 * FS + 12345, NULL, 65536, -300000);
	roundtrip(3 * FS, NULL, FS, 5 + FS + 16);
}

static void
test_roundtrip_raw(void **state)
{
	struct container_info	info;
	struct tbuf		stored;

	roundtrip(0, &raw_a, 0, 0);
	roundtrip(1, &raw_a, 0, 1);
	roundtrip(FS, &raw_a, 0, -50000);
	roundtrip(FS - 1, &raw_a, 1000, 0);
	roundtrip(4 * FS + 3, &raw_a, 100000, -700000);
	roundtrip(2 * FS, &raw_a, 0, FRAME);

	write_container((const unsigned char *)"x", 1, &raw_a, 0, &stored, &info);
	assert_string_equal(info.cipher, "aes-256-gcm");
	assert_string_equal(info.kdf, "raw");
	assert_int_equal(strlen(info.salt_hex), 64);
	tbuf_free(&stored);
}

static void
test_roundtrip_passphrase(void **state)
{
	struct container_info	info;
	struct tbuf		stored;

	roundtrip(0, &pass_a, 0, 0);
	roundtrip(FS + 17, &pass_a, 0, -4096);

	write_container((const unsigned char *)"x", 1, &pass_a, 0, &stored, &info);
	assert_string_equal(info.cipher, "aes-256-gcm");
	assert_string_equal(info.kdf, "scrypt");
	assert_int_equal(info.scrypt_n, 32768);
	assert_int_equal(info.scrypt_r, 8);
	assert_int_equal(info.scrypt_p, 1);
	tbuf_free(&stored);

	write_container((const unsigned char *)"x", 1, NULL, 0, &stored, &info);
	assert_string_equal(info.cipher, "none");
	assert_string_equal(info.kdf, "none");
	assert_string_equal(info.salt_hex, "");
	tbuf_free(&stored);
}

/* Same data twice under one key: salts, nonce prefixes and ciphertexts differ. */
static void
test_fresh_salt(void **state)
{
	struct tbuf	a, b;
	unsigned char	data[100] = { 0 };

	write_container(data, sizeof(data), &raw_a, 0, &a, NULL);
	write_container(data, sizeof(data), &raw_a, 0, &b, NULL);
	assert_int_equal(a.len, b.len);
	assert_true(memcmp(a.data + 32, b.data + 32, 40) != 0);
	assert_true(memcmp(a.data + HDR + 5, b.data + HDR + 5, sizeof(data)) != 0);
	tbuf_free(&a);
	tbuf_free(&b);
}

/*
 * Three frames plus 100 bytes, encrypted with key_a or not; the data into
 * *data (NULL: not wanted).
 */
static void
three_frames(const struct container_secret *s, struct tbuf *stored, unsigned char **data)
{
	unsigned char	*d = make_data(3 * FS + 100, 7);

	write_container(d, 3 * FS + 100, s, 0, stored, NULL);
	if (data != NULL)
		*data = d;
	else
		free(d);
}

/* Most kinds of damage are tried unencrypted and with raw_a: secrets[i], i of them. */
static const struct container_secret *const secrets[] = { NULL, &raw_a };

static void
expect_error(const struct tbuf *stored, const struct container_secret *s, size_t ns,
    const char *msg, size_t handed_out)
{
	struct tbuf	out;
	char		err[KB_ERRLEN];
	long		chunks[] = { 0, -200000, 1 << 20 };
	size_t		i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(read_container(stored->data, stored->len, s, ns, chunks[i], &out,
		    err, sizeof(err), NULL), -1);
		assert_string_equal(err, msg);
		assert_int_equal(out.len, handed_out);
		tbuf_free(&out);
	}
}

#define AUTH(n) "backup 20261124T030000Z failed authentication at frame " #n \
	": it is corrupt or the key is wrong"

static void
test_flip_header(void **state)
{
	struct tbuf	 stored;

	three_frames(NULL, &stored, NULL);
	stored.data[40] ^= 1;		/* salt: covered only by the checksum */
	expect_error(&stored, NULL, 0,
	    "backup 20261124T030000Z: header checksum mismatch", 0);
	stored.data[40] ^= 1;
	stored.data[2] ^= 0x20;
	expect_error(&stored, NULL, 0,
	    "backup 20261124T030000Z: not a kbackup container (bad magic)", 0);
	stored.data[2] ^= 0x20;
	stored.data[9] = 2;
	expect_error(&stored, NULL, 0, "backup 20261124T030000Z: unsupported version 2", 0);
	tbuf_free(&stored);

	three_frames(&raw_a, &stored, NULL);
	stored.data[70] ^= 0x80;		/* nonce prefix */
	expect_error(&stored, &raw_a, 1,
	    "backup 20261124T030000Z: header checksum mismatch", 0);
	tbuf_free(&stored);
}

/*
 * three_frames() unencrypted and with raw_a, each damaged in place by
 * damage: reading fails with msg, handed_out bytes handed out first.
 */
static void
damaged_fails(void (*damage)(struct tbuf *), const char *msg, size_t handed_out)
{
	struct tbuf	 stored;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		three_frames(secrets[i], &stored, NULL);
		damage(&stored);
		expect_error(&stored, secrets[i], i, msg, handed_out);
		tbuf_free(&stored);
	}
}

static void
flip_frame_data(struct tbuf *b)
{
	b->data[HDR + FRAME + 5 + 1000] ^= 4;
}

static void
flip_frame_tag(struct tbuf *b)
{
	b->data[HDR + 2 * FRAME - 1] ^= 4;	/* tag of frame 1 */
}

static void
test_flip_frame(void **state)
{
	damaged_fails(flip_frame_data, AUTH(1), FS);
	damaged_fails(flip_frame_tag, AUTH(1), FS);
}

static void
flip_frame_count(struct tbuf *b)
{
	b->data[b->len - TRAILER + 5 + 7] ^= 1;
}

static void
test_flip_trailer(void **state)
{
	damaged_fails(flip_frame_count, AUTH(4), 3 * FS + 100);
}

static void
test_truncated(void **state)
{
	struct tbuf	 stored, out;
	char		 err[KB_ERRLEN];

	three_frames(&raw_a, &stored, NULL);
	/* In the middle of frame 2. */
	assert_int_equal(read_container(stored.data, HDR + 2 * FRAME + 1000, &raw_a, 1, -100000,
	    &out, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "backup 20261124T030000Z is truncated after frame 1");
	assert_int_equal(out.len, 2 * FS);
	tbuf_free(&out);
	/* Trailer missing. */
	assert_int_equal(read_container(stored.data, stored.len - TRAILER, &raw_a, 1, 0,
	    &out, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "backup 20261124T030000Z is truncated after frame 3");
	tbuf_free(&out);
	/* Header only, part of a header, nothing. */
	assert_int_equal(read_container(stored.data, HDR, &raw_a, 1, 0, &out, err, sizeof(err),
	    NULL), -1);
	assert_string_equal(err, "backup 20261124T030000Z is truncated after its header");
	tbuf_free(&out);
	assert_int_equal(read_container(stored.data, 10, &raw_a, 1, 0, &out, err, sizeof(err),
	    NULL), -1);
	assert_string_equal(err, "backup 20261124T030000Z is truncated in its header");
	tbuf_free(&out);
	assert_int_equal(read_container(stored.data, 0, &raw_a, 1, 0, &out, err, sizeof(err),
	    NULL), -1);
	assert_string_equal(err, "backup 20261124T030000Z is truncated in its header");
	tbuf_free(&out);
	tbuf_free(&stored);
}

static void
swap_frames(struct tbuf *b)
{
	unsigned char	*tmp = xmalloc(FRAME);

	memcpy(tmp, b->data + HDR, FRAME);
	memmove(b->data + HDR, b->data + HDR + FRAME, FRAME);
	memcpy(b->data + HDR + FRAME, tmp, FRAME);
	free(tmp);
}

static void
test_swapped(void **state)
{
	damaged_fails(swap_frames, AUTH(0), 0);
}

/* Frame 0 twice. */
static void
duplicate_frame(struct tbuf *b)
{
	struct tbuf	dup;

	memset(&dup, 0, sizeof(dup));
	tbuf_add(&dup, b->data, HDR + FRAME);
	tbuf_add(&dup, b->data + HDR, b->len - HDR);
	tbuf_free(b);
	*b = dup;
}

static void
test_duplicated(void **state)
{
	damaged_fails(duplicate_frame, AUTH(1), FS);
}

static void
drop_frame_1(struct tbuf *b)
{
	memmove(b->data + HDR + FRAME, b->data + HDR + 2 * FRAME, b->len - HDR - 2 * FRAME);
	b->len -= FRAME;
}

/* The last (short) data frame removed: the trailer follows a full one. */
static void
drop_last_frame(struct tbuf *b)
{
	memmove(b->data + HDR + 3 * FRAME, b->data + b->len - TRAILER, TRAILER);
	b->len = HDR + 3 * FRAME + TRAILER;
}

static void
test_dropped(void **state)
{
	damaged_fails(drop_frame_1, AUTH(1), FS);
	damaged_fails(drop_last_frame, AUTH(3), 3 * FS);
}

static void
test_trailing_garbage(void **state)
{
	struct tbuf	 stored;

	three_frames(&raw_a, &stored, NULL);
	tbuf_add(&stored, "", 1);	/* one zero byte */
	expect_error(&stored, &raw_a, 1,
	    "backup 20261124T030000Z has data after its trailer", 3 * FS + 100);
	tbuf_free(&stored);
}

static void
test_wrong_key(void **state)
{
	struct tbuf	 stored;

	three_frames(&raw_a, &stored, NULL);
	expect_error(&stored, &raw_b, 1, AUTH(0), 0);
	expect_error(&stored, NULL, 0, "backup 20261124T030000Z is encrypted but no "
	    "encryption key is configured", 0);
	expect_error(&stored, &pass_a, 1, "backup 20261124T030000Z is encrypted with a "
	    "raw key but none is configured", 0);
	tbuf_free(&stored);

	write_container((const unsigned char *)"hello", 5, &pass_a, 0, &stored, NULL);
	{
		struct tbuf	out;
		char		err[KB_ERRLEN];

		assert_int_equal(read_container(stored.data, stored.len, &pass_b, 1, 0, &out,
		    err, sizeof(err), NULL), -1);
		assert_string_equal(err, AUTH(0));
		assert_int_equal(out.len, 0);
		tbuf_free(&out);
	}
	tbuf_free(&stored);
}

static void
test_key_rotation(void **state)
{
	struct container_secret	 keys[3];
	struct tbuf		 stored, out;
	unsigned char		*data;
	char			 err[KB_ERRLEN];

	three_frames(&raw_a, &stored, &data);
	keys[0] = raw_b;
	keys[1] = pass_a;	/* a passphrase is not tried on a raw-key backup */
	keys[2] = raw_a;
	assert_int_equal(read_container(stored.data, stored.len, keys, 3, -300000, &out, err,
	    sizeof(err), NULL), 0);
	assert_int_equal(out.len, 3 * FS + 100);
	assert_memory_equal(out.data, data, out.len);
	tbuf_free(&out);
	tbuf_free(&stored);
	free(data);

	write_container((const unsigned char *)"hello", 5, &pass_a, 0, &stored, NULL);
	keys[0] = pass_b;
	keys[1] = pass_a;
	assert_int_equal(read_container(stored.data, stored.len, keys, 2, 1, &out, err,
	    sizeof(err), NULL), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "hello", 5);
	tbuf_free(&out);
	tbuf_free(&stored);
}

static void
test_bad_raw_key(void **state)
{
	struct container_secret	 s = { "encryption_key", key_a, 31, 1 };
	struct container_writer	*w;
	struct container_reader	*r;
	struct tbuf		 b = { 0 };
	char			 err[KB_ERRLEN];

	assert_int_equal(container_writer_new(&w, CONTAINER_COMP_NONE, &s, tbuf_out, &b,
	    err, sizeof(err)), -1);
	assert_string_equal(err,
	    "encryption key must be 32 bytes for encryption_key_format = raw");
	assert_null(w);
	assert_int_equal(container_reader_new(&r, &s, 1, "x", tbuf_out, &b, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "encryption_key: "
	    "encryption key must be 32 bytes for encryption_key_format = raw");
	assert_null(r);
}

/* A forged header asking for a huge scrypt is refused before any work. */
static void
test_scrypt_dos(void **state)
{
	struct tbuf	stored;
	unsigned char	sum[32];

	write_container((const unsigned char *)"x", 1, &pass_a, 0, &stored, NULL);
	stored.data[16 + 4] = 0x40;	/* N = 2^30 */
	stored.data[16 + 6] = 0;
	SHA256((const unsigned char *)stored.data, 80, sum);
	memcpy(stored.data + 80, sum, 16);
	expect_error(&stored, &pass_a, 1, "backup 20261124T030000Z: bad header: "
	    "scrypt parameters out of range", 0);
	tbuf_free(&stored);
}

static int
fail_out(const void *p, size_t len, void *arg, char *err, size_t errlen)
{
	return errf(err, errlen, "sink full");
}

static void
test_out_error(void **state)
{
	struct container_writer	*w;
	char			 err[KB_ERRLEN];

	assert_int_equal(container_writer_new(&w, CONTAINER_COMP_NONE, NULL, fail_out, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(container_writer_write(w, "abc", 3, err, sizeof(err)), 0);
	assert_int_equal(container_writer_finish(w, err, sizeof(err)), -1);
	assert_string_equal(err, "sink full");
	assert_int_equal(container_writer_write(w, "abc", 3, err, sizeof(err)), -1);
	container_writer_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_plain),
		cmocka_unit_test(test_roundtrip_raw),
		cmocka_unit_test(test_roundtrip_passphrase),
		cmocka_unit_test(test_fresh_salt),
		cmocka_unit_test(test_flip_header),
		cmocka_unit_test(test_flip_frame),
		cmocka_unit_test(test_flip_trailer),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_duplicated),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_bad_raw_key),
		cmocka_unit_test(test_scrypt_dos),
		cmocka_unit_test(test_out_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
