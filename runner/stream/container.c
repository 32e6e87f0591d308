/*
 * container: the byte format of a stored backup, writer and reader.
 * man/kbackup-format.5 describes it byte by byte; keep the two in step.
 *
 *	header	96 bytes: magic, version, compression, cipher, KDF and its
 *		parameters, salt, nonce prefix, frame size, checksum
 *	frame	length (4) | kind (1) | payload (length) | tag (16)
 *	...	data frames of exactly the frame size, the last one shorter
 *		or equal and marked "last", then one trailer frame
 *
 * Every tag covers SHA-256(header) || frame index || kind || length, so a
 * frame cannot be moved, repeated, dropped, retyped or put into another
 * backup.  Encrypted, the tag is AES-256-GCM's with nonce = prefix || index;
 * unencrypted it is a truncated SHA-256, which catches corruption but is no
 * defence against someone who can rewrite the object.
 *
 * Input to the reader is untrusted: every length is checked against the
 * header's frame size (itself at most 16 MiB) before anything is buffered.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/util.h"
#include "runner/stream/container.h"

#define HDR_LEN		96
#define HDR_SUM_OFF	80
#define HDR_SUM_LEN	16
#define HDR_VERSION	1
#define HEAD_LEN	5		/* frame length (4) + kind (1) */
#define TAG_LEN		16
#define AAD_LEN		(32 + 8 + 1 + 4)
#define TRAILER_LEN	16
#define FRAME_MAX	(16 * 1024 * 1024)
#define KEY_LEN		32
#define SALT_LEN	32
#define PREFIX_LEN	8

#define SCRYPT_N	(1 << 15)
#define SCRYPT_R	8
#define SCRYPT_P	1
#define SCRYPT_N_MAX	(1 << 20)
#define SCRYPT_RP_MAX	64
#define SCRYPT_MEM_MAX	((uint64_t)1 << 30)

#define HKDF_INFO	"kbackup container v1 aes-256-gcm"

static const unsigned char magic[8] = { 'K', 'B', 'A', 'C', 'K', 'U', 'P', '\0' };

enum cipher { CIPHER_NONE = 0, CIPHER_AES256GCM = 1 };
enum kdf { KDF_NONE = 0, KDF_SCRYPT = 1, KDF_RAW = 2 };
enum kind { KIND_DATA = 0, KIND_LAST = 1, KIND_TRAILER = 2 };

struct header {
	uint8_t		 compression;
	uint8_t		 cipher;
	uint8_t		 kdf;
	uint64_t	 scrypt_n;
	uint32_t	 scrypt_r, scrypt_p;
	unsigned char	 salt[SALT_LEN];
	unsigned char	 prefix[PREFIX_LEN];
	uint32_t	 frame_size;
	unsigned char	 raw[HDR_LEN];
	unsigned char	 hash[SHA256_DIGEST_LENGTH];	/* SHA-256 of raw */
};

struct container_writer {
	struct header	 hdr;
	EVP_CIPHER_CTX	*ctx;		/* NULL: not encrypted */
	container_out_fn out;
	void		*arg;
	unsigned char	*frame;		/* head | payload | tag */
	size_t		 fill;		/* payload bytes in frame */
	uint64_t	 index;		/* next frame's index */
	uint64_t	 data_frames;
	uint64_t	 payload_bytes;
	uint64_t	 stored_bytes;
	int		 header_sent;
	int		 done;		/* finished or failed: no more writes */
};

enum rstate { R_HEADER, R_HEAD, R_BODY, R_DONE, R_FAILED };

struct container_reader {
	char		*id;
	struct container_secret *secrets;	/* copies, wiped on free */
	size_t		 nsecrets;
	container_out_fn out;
	void		*arg;
	struct header	 hdr;
	int		 have_header;
	EVP_CIPHER_CTX	*ctx;		/* keyed once the first frame opened */
	enum rstate	 state;
	unsigned char	 small[HDR_LEN];	/* header, then each frame head */
	unsigned char	*buf;		/* frame body: payload | tag */
	size_t		 bufsize;
	size_t		 need, fill;	/* bytes wanted and held for the current part */
	uint32_t	 cur_len;
	uint8_t		 cur_kind;
	int		 last_seen;
	uint64_t	 index;		/* index of the frame being read */
	uint64_t	 payload_bytes;
	uint64_t	 stored_bytes;
};

static void
header_encode(struct header *h)
{
	unsigned char	*p = h->raw;
	unsigned char	 sum[SHA256_DIGEST_LENGTH];

	memset(p, 0, HDR_LEN);
	memcpy(p, magic, sizeof(magic));
	p[8] = 0;
	p[9] = HDR_VERSION;
	p[10] = h->compression;
	p[11] = h->cipher;
	p[12] = h->kdf;
	be64_put(p + 16, h->scrypt_n);
	be32_put(p + 24, h->scrypt_r);
	be32_put(p + 28, h->scrypt_p);
	memcpy(p + 32, h->salt, SALT_LEN);
	memcpy(p + 64, h->prefix, PREFIX_LEN);
	be32_put(p + 72, h->frame_size);
	SHA256(p, HDR_SUM_OFF, sum);
	memcpy(p + HDR_SUM_OFF, sum, HDR_SUM_LEN);
	SHA256(p, HDR_LEN, h->hash);
}

/* Bounds scrypt's cost so that a forged header cannot exhaust memory or time. */
static int
scrypt_params_ok(uint64_t n, uint32_t r, uint32_t p)
{
	if (n < 2 || n > SCRYPT_N_MAX || (n & (n - 1)) != 0)
		return 0;
	if (r < 1 || p < 1 || (uint64_t)r * p > SCRYPT_RP_MAX)
		return 0;
	return 128 * n * r <= SCRYPT_MEM_MAX;
}

static int
header_decode(struct header *h, const unsigned char *p, const char *id, char *err,
    size_t errlen)
{
	unsigned char	sum[SHA256_DIGEST_LENGTH];
	int		i;

	if (memcmp(p, magic, sizeof(magic)) != 0)
		return errf(err, errlen, "backup %s: not a kbackup container (bad magic)", id);
	if (p[8] != 0 || p[9] != HDR_VERSION)
		return errf(err, errlen, "backup %s: unsupported version %u", id,
		    (unsigned)p[8] << 8 | p[9]);
	SHA256(p, HDR_SUM_OFF, sum);
	if (CRYPTO_memcmp(sum, p + HDR_SUM_OFF, HDR_SUM_LEN) != 0)
		return errf(err, errlen, "backup %s: header checksum mismatch", id);
	memset(h, 0, sizeof(*h));
	memcpy(h->raw, p, HDR_LEN);
	SHA256(p, HDR_LEN, h->hash);
	h->compression = p[10];
	h->cipher = p[11];
	h->kdf = p[12];
	h->scrypt_n = be64_get(p + 16);
	h->scrypt_r = be32_get(p + 24);
	h->scrypt_p = be32_get(p + 28);
	memcpy(h->salt, p + 32, SALT_LEN);
	memcpy(h->prefix, p + 64, PREFIX_LEN);
	h->frame_size = be32_get(p + 72);

	for (i = 13; i < 16; i++)
		if (p[i] != 0)
			return errf(err, errlen, "backup %s: bad header: reserved byte set", id);
	if (be32_get(p + 76) != 0)
		return errf(err, errlen, "backup %s: bad header: reserved byte set", id);
	if (h->compression != CONTAINER_COMP_NONE && h->compression != CONTAINER_COMP_ZSTD)
		return errf(err, errlen, "backup %s: bad header: unknown compression %u", id,
		    h->compression);
	if (h->frame_size < 1 || h->frame_size > FRAME_MAX)
		return errf(err, errlen, "backup %s: bad header: frame size %u out of range",
		    id, (unsigned)h->frame_size);
	switch (h->cipher) {
	case CIPHER_NONE:
		if (h->kdf != KDF_NONE)
			return errf(err, errlen, "backup %s: bad header: KDF without cipher", id);
		break;
	case CIPHER_AES256GCM:
		if (h->kdf == KDF_SCRYPT) {
			if (!scrypt_params_ok(h->scrypt_n, h->scrypt_r, h->scrypt_p))
				return errf(err, errlen,
				    "backup %s: bad header: scrypt parameters out of range", id);
		} else if (h->kdf != KDF_RAW)
			return errf(err, errlen, "backup %s: bad header: unknown KDF %u", id,
			    h->kdf);
		break;
	default:
		return errf(err, errlen, "backup %s: bad header: unknown cipher %u", id,
		    h->cipher);
	}
	return 0;
}

static int
secret_check(const struct container_secret *s, char *err, size_t errlen)
{
	if (s->raw && s->len != KEY_LEN)
		return errf(err, errlen,
		    "encryption key must be 32 bytes for encryption_key_format = raw");
	if (!s->raw && s->len == 0)
		return errf(err, errlen, "encryption passphrase is empty");
	return 0;
}

/*
 * The frame key of one backup: scrypt(passphrase, salt) or, for a raw key,
 * HKDF-SHA256(key, salt) so that a raw key too gets a fresh key per backup
 * and nonces (prefix || counter) never repeat under one key.
 */
static int
derive_key(const struct header *h, const struct container_secret *s,
    unsigned char key[KEY_LEN], char *err, size_t errlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *pp = params;
	uint64_t	 maxmem;
	int		 ok;

	if (h->kdf == KDF_SCRYPT) {
		maxmem = 128 * h->scrypt_n * h->scrypt_r +
		    128 * (uint64_t)h->scrypt_r * h->scrypt_p + (1 << 20);
		if (EVP_PBE_scrypt((const char *)s->data, s->len, h->salt, SALT_LEN,
		    h->scrypt_n, h->scrypt_r, h->scrypt_p, maxmem, key, KEY_LEN) != 1)
			return errf(err, errlen, "scrypt key derivation failed");
		return 0;
	}
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return errf(err, errlen, "HKDF not available");
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return errf(err, errlen, "HKDF context");
	*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)s->data, s->len);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)h->salt,
	    SALT_LEN);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, HKDF_INFO,
	    sizeof(HKDF_INFO) - 1);
	*pp = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, key, KEY_LEN, params) == 1;
	EVP_KDF_CTX_free(kctx);
	if (!ok)
		return errf(err, errlen, "HKDF key derivation failed");
	return 0;
}

/* A fresh cipher context holding key; the caller wipes key. */
static EVP_CIPHER_CTX *
cipher_new(const unsigned char key[KEY_LEN], int enc)
{
	EVP_CIPHER_CTX	*ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
make_aad(unsigned char aad[AAD_LEN], const struct header *h, uint64_t index, uint8_t kind,
    uint32_t len)
{
	memcpy(aad, h->hash, 32);
	be64_put(aad + 32, index);
	aad[40] = kind;
	be32_put(aad + 41, len);
}

static void
make_nonce(unsigned char nonce[12], const struct header *h, uint64_t index)
{
	memcpy(nonce, h->prefix, PREFIX_LEN);
	be32_put(nonce + PREFIX_LEN, (uint32_t)index);
}

/* Unencrypted tag: SHA-256(aad || payload), first 16 bytes. */
static void
checksum_tag(const unsigned char aad[AAD_LEN], const unsigned char *p, size_t len,
    unsigned char tag[TAG_LEN])
{
	EVP_MD_CTX	*c;
	unsigned char	 md[EVP_MAX_MD_SIZE];

	if ((c = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, aad, AAD_LEN) != 1 ||
	    EVP_DigestUpdate(c, p, len) != 1 ||
	    EVP_DigestFinal_ex(c, md, NULL) != 1)
		memset(md, 0, sizeof(md));	/* cannot match a stored tag by chance */
	EVP_MD_CTX_free(c);
	memcpy(tag, md, TAG_LEN);
}

/*
 * Encrypts (in place) or checksums one payload and writes its tag.
 */
static int
seal(EVP_CIPHER_CTX *ctx, const struct header *h, uint64_t index, uint8_t kind,
    unsigned char *p, uint32_t len, unsigned char tag[TAG_LEN])
{
	unsigned char	aad[AAD_LEN], nonce[12];
	int		outl;

	make_aad(aad, h, index, kind, len);
	if (ctx == NULL) {
		checksum_tag(aad, p, len, tag);
		return 0;
	}
	make_nonce(nonce, h, index);
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, aad, AAD_LEN) != 1 ||
	    (len > 0 && EVP_EncryptUpdate(ctx, p, &outl, p, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, p + len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		return -1;
	return 0;
}

/*
 * Checks one frame body (payload | tag at in) and, encrypted, decrypts the
 * payload to out (which may equal in).  Returns 0 only if the tag verified.
 */
static int
open_frame(EVP_CIPHER_CTX *ctx, const struct header *h, uint64_t index, uint8_t kind,
    const unsigned char *in, uint32_t len, unsigned char *out)
{
	unsigned char	aad[AAD_LEN], nonce[12], tag[TAG_LEN], want[TAG_LEN];
	int		outl;

	make_aad(aad, h, index, kind, len);
	if (ctx == NULL) {
		checksum_tag(aad, in, len, want);
		return CRYPTO_memcmp(want, in + len, TAG_LEN) == 0 ? 0 : -1;
	}
	memcpy(tag, in + len, TAG_LEN);
	make_nonce(nonce, h, index);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, aad, AAD_LEN) != 1 ||
	    (len > 0 && EVP_DecryptUpdate(ctx, out, &outl, in, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + len, &outl) != 1)
		return -1;
	return 0;
}

static void
fill_info(const struct header *h, struct container_info *info)
{
	memset(info, 0, sizeof(*info));
	info->compression = h->compression;
	strlcpy(info->cipher, h->cipher == CIPHER_AES256GCM ? "aes-256-gcm" : "none",
	    sizeof(info->cipher));
	switch (h->kdf) {
	case KDF_SCRYPT:
		strlcpy(info->kdf, "scrypt", sizeof(info->kdf));
		info->scrypt_n = h->scrypt_n;
		info->scrypt_r = h->scrypt_r;
		info->scrypt_p = h->scrypt_p;
		break;
	case KDF_RAW:
		strlcpy(info->kdf, "raw", sizeof(info->kdf));
		break;
	default:
		strlcpy(info->kdf, "none", sizeof(info->kdf));
		break;
	}
	if (h->cipher != CIPHER_NONE)
		hex_encode(h->salt, SALT_LEN, info->salt_hex);
}

/* Writer */

int
container_writer_new(struct container_writer **wp, enum container_compression comp,
    const struct container_secret *secret, container_out_fn out, void *arg,
    char *err, size_t errlen)
{
	struct container_writer	*w;
	unsigned char		 key[KEY_LEN];

	*wp = NULL;
	if (comp != CONTAINER_COMP_NONE && comp != CONTAINER_COMP_ZSTD)
		return errf(err, errlen, "unknown compression %d", (int)comp);
	if (secret != NULL && secret_check(secret, err, errlen) == -1)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->out = out;
	w->arg = arg;
	w->hdr.compression = comp;
	w->hdr.frame_size = CONTAINER_FRAME_SIZE;
	if (secret != NULL) {
		w->hdr.cipher = CIPHER_AES256GCM;
		if (secret->raw)
			w->hdr.kdf = KDF_RAW;
		else {
			w->hdr.kdf = KDF_SCRYPT;
			w->hdr.scrypt_n = SCRYPT_N;
			w->hdr.scrypt_r = SCRYPT_R;
			w->hdr.scrypt_p = SCRYPT_P;
		}
		if (RAND_bytes(w->hdr.salt, SALT_LEN) != 1 ||
		    RAND_bytes(w->hdr.prefix, PREFIX_LEN) != 1) {
			free(w);
			return errf(err, errlen, "no random bytes for salt and nonce");
		}
		header_encode(&w->hdr);
		if (derive_key(&w->hdr, secret, key, err, errlen) == -1) {
			free(w);
			return -1;
		}
		w->ctx = cipher_new(key, 1);
		OPENSSL_cleanse(key, sizeof(key));
		if (w->ctx == NULL) {
			free(w);
			return errf(err, errlen, "cannot set up AES-256-GCM");
		}
	} else
		header_encode(&w->hdr);
	w->frame = xmalloc(HEAD_LEN + CONTAINER_FRAME_SIZE + TAG_LEN);
	*wp = w;
	return 0;
}

static int
writer_emit(struct container_writer *w, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (w->out(buf, len, w->arg, err, errlen) == -1) {
		w->done = 1;
		return -1;
	}
	w->stored_bytes += len;
	return 0;
}

/* Seals the w->fill payload bytes in w->frame as one frame of the kind given and hands it out. */
static int
writer_seal(struct container_writer *w, uint8_t kind, char *err, size_t errlen)
{
	uint32_t	len = (uint32_t)w->fill;

	if (w->index > UINT32_MAX) {
		w->done = 1;
		return errf(err, errlen, "backup too large: more than 2^32 frames");
	}
	if (!w->header_sent) {
		if (writer_emit(w, w->hdr.raw, HDR_LEN, err, errlen) == -1)
			return -1;
		w->header_sent = 1;
	}
	be32_put(w->frame, len);
	w->frame[4] = kind;
	if (seal(w->ctx, &w->hdr, w->index, kind, w->frame + HEAD_LEN, len,
	    w->frame + HEAD_LEN + len) == -1) {
		w->done = 1;
		return errf(err, errlen, "AES-256-GCM encryption failed");
	}
	if (writer_emit(w, w->frame, HEAD_LEN + len + TAG_LEN, err, errlen) == -1)
		return -1;
	w->index++;
	if (kind != KIND_TRAILER)
		w->data_frames++;
	w->fill = 0;
	return 0;
}

int
container_writer_write(struct container_writer *w, const void *buf, size_t len,
    char *err, size_t errlen)
{
	const unsigned char	*p = buf;
	size_t			 n;

	if (w->done)
		return errf(err, errlen, "container writer used after finish or error");
	while (len > 0) {
		/* A full frame is sealed only when more data shows it is not the last. */
		if (w->fill == CONTAINER_FRAME_SIZE &&
		    writer_seal(w, KIND_DATA, err, errlen) == -1)
			return -1;
		n = CONTAINER_FRAME_SIZE - w->fill;
		if (n > len)
			n = len;
		memcpy(w->frame + HEAD_LEN + w->fill, p, n);
		w->fill += n;
		w->payload_bytes += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
container_writer_finish(struct container_writer *w, char *err, size_t errlen)
{
	uint64_t	frames;

	if (w->done)
		return errf(err, errlen, "container writer used after finish or error");
	if (w->fill > 0 && writer_seal(w, KIND_LAST, err, errlen) == -1)
		return -1;
	frames = w->index;
	be64_put(w->frame + HEAD_LEN, frames);
	be64_put(w->frame + HEAD_LEN + 8, w->payload_bytes);
	w->fill = TRAILER_LEN;
	if (writer_seal(w, KIND_TRAILER, err, errlen) == -1)
		return -1;
	w->done = 1;
	return 0;
}

void
container_writer_info(const struct container_writer *w, struct container_info *info)
{
	fill_info(&w->hdr, info);
	info->frames = w->data_frames;
	info->payload_bytes = w->payload_bytes;
	info->stored_bytes = w->stored_bytes;
}

void
container_writer_free(struct container_writer *w)
{
	if (w == NULL)
		return;
	EVP_CIPHER_CTX_free(w->ctx);
	freezero(w->frame, HEAD_LEN + CONTAINER_FRAME_SIZE + TAG_LEN);
	freezero(w, sizeof(*w));
}

/* Reader */

int
container_reader_new(struct container_reader **rp, const struct container_secret *secrets,
    size_t nsecrets, const char *backup_id, container_out_fn out, void *arg,
    char *err, size_t errlen)
{
	struct container_reader	*r;
	unsigned char		*copy;
	size_t			 i;

	*rp = NULL;
	for (i = 0; i < nsecrets; i++)
		if (secret_check(&secrets[i], err, errlen) == -1)
			return errprefix(err, errlen, "%s", secrets[i].name != NULL ?
			    secrets[i].name : "encryption key");
	r = xcalloc(1, sizeof(*r));
	r->id = xstrdup(backup_id != NULL ? backup_id : "?");
	r->out = out;
	r->arg = arg;
	r->nsecrets = nsecrets;
	r->secrets = xcalloc(nsecrets, sizeof(*r->secrets));
	for (i = 0; i < nsecrets; i++) {
		copy = xmalloc(secrets[i].len);
		memcpy(copy, secrets[i].data, secrets[i].len);
		r->secrets[i].name = secrets[i].name;
		r->secrets[i].data = copy;
		r->secrets[i].len = secrets[i].len;
		r->secrets[i].raw = secrets[i].raw;
	}
	r->state = R_HEADER;
	r->need = HDR_LEN;
	*rp = r;
	return 0;
}

static int
reader_fail(struct container_reader *r)
{
	r->state = R_FAILED;
	return -1;
}

static int
auth_failed(struct container_reader *r, char *err, size_t errlen)
{
	errf(err, errlen, "backup %s failed authentication at frame %llu: "
	    "it is corrupt or the key is wrong", r->id, (unsigned long long)r->index);
	return reader_fail(r);
}

static int
corrupt(struct container_reader *r, const char *what, char *err, size_t errlen)
{
	errf(err, errlen, "backup %s is corrupt at frame %llu: %s", r->id,
	    (unsigned long long)r->index, what);
	return reader_fail(r);
}

static int
reader_header(struct container_reader *r, char *err, size_t errlen)
{
	size_t	i, usable = 0;
	int	want_raw;

	if (header_decode(&r->hdr, r->small, r->id, err, errlen) == -1)
		return reader_fail(r);
	r->have_header = 1;
	if (r->hdr.cipher != CIPHER_NONE) {
		want_raw = r->hdr.kdf == KDF_RAW;
		for (i = 0; i < r->nsecrets; i++)
			if (r->secrets[i].raw == want_raw)
				usable++;
		if (r->nsecrets == 0) {
			errf(err, errlen, "backup %s is encrypted but no encryption key "
			    "is configured", r->id);
			return reader_fail(r);
		}
		if (usable == 0) {
			errf(err, errlen, "backup %s is encrypted with a %s but none "
			    "is configured", r->id, want_raw ? "raw key" : "passphrase");
			return reader_fail(r);
		}
	}
	r->state = R_HEAD;
	r->need = HEAD_LEN;
	return 0;
}

static int
reader_head(struct container_reader *r, char *err, size_t errlen)
{
	uint32_t	len = be32_get(r->small);
	uint8_t		kind = r->small[4];
	size_t		size;

	if (r->index > UINT32_MAX)
		return corrupt(r, "more than 2^32 frames", err, errlen);
	switch (kind) {
	case KIND_DATA:
		if (r->last_seen)
			return corrupt(r, "data frame after the last one", err, errlen);
		if (len != r->hdr.frame_size)
			return corrupt(r, "short data frame", err, errlen);
		break;
	case KIND_LAST:
		if (r->last_seen)
			return corrupt(r, "data frame after the last one", err, errlen);
		if (len < 1 || len > r->hdr.frame_size)
			return corrupt(r, "bad frame length", err, errlen);
		break;
	case KIND_TRAILER:
		if (r->index > 0 && !r->last_seen)
			return auth_failed(r, err, errlen);
		if (len != TRAILER_LEN)
			return corrupt(r, "bad trailer length", err, errlen);
		break;
	default:
		return corrupt(r, "unknown frame kind", err, errlen);
	}
	size = (size_t)len + TAG_LEN;
	if (size > r->bufsize) {
		free(r->buf);
		r->buf = xmalloc(size);
		r->bufsize = size;
	}
	r->cur_len = len;
	r->cur_kind = kind;
	r->stored_bytes += HEAD_LEN;
	r->state = R_BODY;
	r->need = size;
	return 0;
}

/*
 * First frame of an encrypted backup: find the secret that opens it.  The
 * plaintext goes to a scratch buffer so that each try sees the ciphertext.
 */
static int
reader_try_keys(struct container_reader *r, const unsigned char *in, unsigned char *out,
    char *err, size_t errlen)
{
	unsigned char		 key[KEY_LEN];
	unsigned char		*scratch;
	EVP_CIPHER_CTX		*ctx;
	size_t			 i;
	int			 want_raw = r->hdr.kdf == KDF_RAW;

	scratch = xmalloc((size_t)r->cur_len + TAG_LEN);
	for (i = 0; i < r->nsecrets; i++) {
		if (r->secrets[i].raw != want_raw)
			continue;
		if (derive_key(&r->hdr, &r->secrets[i], key, err, errlen) == -1)
			break;
		ctx = cipher_new(key, 0);
		OPENSSL_cleanse(key, sizeof(key));
		if (ctx == NULL)
			break;
		if (open_frame(ctx, &r->hdr, r->index, r->cur_kind, in, r->cur_len,
		    scratch) == 0) {
			r->ctx = ctx;
			memcpy(out, scratch, r->cur_len);
			freezero(scratch, (size_t)r->cur_len + TAG_LEN);
			return 0;
		}
		EVP_CIPHER_CTX_free(ctx);
	}
	freezero(scratch, (size_t)r->cur_len + TAG_LEN);
	return -1;
}

/*
 * A whole frame body is at in (r->buf or the caller's buffer).  Checks it,
 * decrypts into r->buf and hands the payload out.
 */
static int
reader_body(struct container_reader *r, const unsigned char *in, char *err, size_t errlen)
{
	const unsigned char	*payload;
	int			 rc;

	if (r->hdr.cipher == CIPHER_NONE) {
		rc = open_frame(NULL, &r->hdr, r->index, r->cur_kind, in, r->cur_len, NULL);
		payload = in;
	} else if (r->ctx == NULL) {
		rc = reader_try_keys(r, in, r->buf, err, errlen);
		payload = r->buf;
	} else {
		rc = open_frame(r->ctx, &r->hdr, r->index, r->cur_kind, in, r->cur_len,
		    r->buf);
		payload = r->buf;
	}
	if (rc == -1)
		return auth_failed(r, err, errlen);
	r->stored_bytes += (size_t)r->cur_len + TAG_LEN;

	if (r->cur_kind == KIND_TRAILER) {
		if (be64_get(payload) != r->index || be64_get(payload + 8) != r->payload_bytes)
			return corrupt(r, "trailer counts do not match", err, errlen);
		r->state = R_DONE;
		r->need = 0;
		return 0;
	}
	if (r->cur_kind == KIND_LAST)
		r->last_seen = 1;
	r->index++;
	r->payload_bytes += r->cur_len;
	r->state = R_HEAD;
	r->need = HEAD_LEN;
	if (r->out(payload, r->cur_len, r->arg, err, errlen) == -1)
		return reader_fail(r);
	return 0;
}

int
container_reader_feed(struct container_reader *r, const void *buf, size_t len,
    char *err, size_t errlen)
{
	const unsigned char	*p = buf;
	unsigned char		*dst;
	size_t			 n;
	int			 rc;

	while (len > 0) {
		switch (r->state) {
		case R_FAILED:
			return errf(err, errlen, "backup %s: reader used after an error",
			    r->id);
		case R_DONE:
			errf(err, errlen, "backup %s has data after its trailer", r->id);
			return reader_fail(r);
		case R_BODY:
			/* A whole body in the caller's buffer is read from there. */
			if (r->fill == 0 && len >= r->need) {
				n = r->need;
				if (reader_body(r, p, err, errlen) == -1)
					return -1;
				p += n;
				len -= n;
				continue;
			}
			dst = r->buf;
			break;
		default:
			dst = r->small;
			break;
		}
		n = r->need - r->fill;
		if (n > len)
			n = len;
		memcpy(dst + r->fill, p, n);
		r->fill += n;
		p += n;
		len -= n;
		if (r->fill < r->need)
			break;
		r->fill = 0;
		switch (r->state) {
		case R_HEADER:
			r->stored_bytes += HDR_LEN;
			rc = reader_header(r, err, errlen);
			break;
		case R_HEAD:
			rc = reader_head(r, err, errlen);
			break;
		default:
			rc = reader_body(r, r->buf, err, errlen);
			break;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
container_reader_finish(struct container_reader *r, char *err, size_t errlen)
{
	switch (r->state) {
	case R_DONE:
		return 0;
	case R_FAILED:
		return errf(err, errlen, "backup %s: reader used after an error", r->id);
	case R_HEADER:
		errf(err, errlen, "backup %s is truncated in its header", r->id);
		break;
	default:
		if (r->index == 0)
			errf(err, errlen, "backup %s is truncated after its header", r->id);
		else
			errf(err, errlen, "backup %s is truncated after frame %llu", r->id,
			    (unsigned long long)(r->index - 1));
		break;
	}
	return reader_fail(r);
}

void
container_reader_info(const struct container_reader *r, struct container_info *info)
{
	if (!r->have_header) {
		memset(info, 0, sizeof(*info));
		return;
	}
	fill_info(&r->hdr, info);
	info->frames = r->index;
	info->payload_bytes = r->payload_bytes;
	info->stored_bytes = r->stored_bytes;
}

void
container_reader_free(struct container_reader *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nsecrets; i++)
		freezero((void *)r->secrets[i].data, r->secrets[i].len);
	free(r->secrets);
	EVP_CIPHER_CTX_free(r->ctx);
	freezero(r->buf, r->bufsize);
	free(r->id);
	freezero(r, sizeof(*r));
}
