/*
 * container: the byte format of a stored backup (man/kbackup-format.5).
 *
 * A header (magic, version, compression, encryption, KDF and its parameters,
 * salt, nonce prefix), then frames of about 1 MiB each carrying a length and
 * a tag (AES-256-GCM when encrypted, a keyed-less checksum otherwise), then a
 * trailer frame with the counts, so that truncation, reordering, duplication
 * and tampering are detected.  The payload is opaque here: the pipeline puts
 * zstd output into it and records the compression in the header.
 *
 * Both sides stream: the writer hands out stored bytes through a callback as
 * frames fill; the reader takes stored bytes in any chunking and hands out a
 * frame's payload only after that frame has been checked.
 */
#ifndef KB_CONTAINER_H
#define KB_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#define CONTAINER_FRAME_SIZE	(1024 * 1024)

enum container_compression {
	CONTAINER_COMP_NONE = 0,
	CONTAINER_COMP_ZSTD = 1
};

/* An encryption secret: a passphrase (stretched with scrypt) or a raw 32-byte key. */
struct container_secret {
	const char	*name;		/* "encryption_key", "encryption_key_old.a": for logs */
	const unsigned char *data;
	size_t		 len;
	int		 raw;
};

/* What a manifest records of a container. */
struct container_info {
	int		 compression;
	char		 cipher[32];	/* "none" or "aes-256-gcm" */
	char		 kdf[16];	/* "none", "scrypt" or "raw" */
	uint64_t	 scrypt_n;
	uint32_t	 scrypt_r, scrypt_p;
	char		 salt_hex[65];
	uint64_t	 frames;	/* data frames, trailer not counted */
	uint64_t	 payload_bytes;	/* bytes put in (compressed dump) */
	uint64_t	 stored_bytes;	/* bytes handed out (header to trailer) */
};

/* Receives stored bytes (writer) or checked payload (reader). */
typedef int (*container_out_fn)(const void *buf, size_t len, void *arg, char *err,
    size_t errlen);

struct container_writer;
struct container_reader;

/* secret NULL: not encrypted.  The key is derived here and wiped on free. */
int	 container_writer_new(struct container_writer **, enum container_compression,
	    const struct container_secret *secret, container_out_fn, void *arg,
	    char *err, size_t errlen);
int	 container_writer_write(struct container_writer *, const void *, size_t,
	    char *err, size_t errlen);
/* Seals the last data frame and writes the trailer. */
int	 container_writer_finish(struct container_writer *, char *err, size_t errlen);
void	 container_writer_info(const struct container_writer *, struct container_info *);
void	 container_writer_free(struct container_writer *);

/*
 * secrets: the keys to try, current first (n may be 0 for unencrypted
 * backups).  backup_id names the backup in error messages.  On a failed
 * frame the error reads "backup ID failed authentication at frame N: it is
 * corrupt or the key is wrong" and nothing of that frame was handed out.
 */
int	 container_reader_new(struct container_reader **, const struct container_secret *secrets,
	    size_t nsecrets, const char *backup_id, container_out_fn, void *arg,
	    char *err, size_t errlen);
int	 container_reader_feed(struct container_reader *, const void *, size_t,
	    char *err, size_t errlen);
/* Fails unless the trailer was seen and checked and nothing follows it. */
int	 container_reader_finish(struct container_reader *, char *err, size_t errlen);
/* Valid once the header has been read. */
void	 container_reader_info(const struct container_reader *, struct container_info *);
void	 container_reader_free(struct container_reader *);

#endif
