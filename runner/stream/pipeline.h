/*
 * pipeline: the streaming stages between an engine and storage.
 *
 * Backup:  dump fd → zstd (once) → per location: container (its own key) →
 *          SHA-256 → that location's upload.
 * Restore: one location's object → SHA-256 → container (each frame checked
 *          before its payload goes on) → zstd → the restore tool's fd.
 *
 * Memory is bounded by the stages' buffers (a frame, zstd's windows, the
 * backend's parts), whatever the size of the database.  Nothing is
 * committed here: the caller commits the uploads once the dump tool has
 * said it succeeded.
 */
#ifndef KB_PIPELINE_H
#define KB_PIPELINE_H

#include <stdint.h>

#include <openssl/evp.h>

#include "runner/stream/autolevel.h"
#include "runner/stream/container.h"
#include "runner/stream/progress.h"
#include "runner/stream/keys.h"
#include "storage/storage.h"

struct pipeline_sink {
	struct storage			*st;
	const struct container_secret	*secret;	/* NULL: not encrypted */
	const char			*key;		/* where the data goes */
	struct storage_put		 put;		/* how: if_absent, retain_until */
	struct storage_upload		*up;
	struct container_writer		*cw;
	EVP_MD_CTX			*sha;
	uint64_t			 stored;
	char				 sha256[65];
	struct container_info		 info;
	struct progress			*progress;	/* set by pipeline_backup */
	int				 exists;	/* pipeline_commit: if_absent found one */
};

/*
 * Streams in_fd to every sink until EOF.  On success every upload is open
 * and complete, waiting for pipeline_commit(); on failure all are aborted.
 * raw: bytes read from in_fd.  progress (may be NULL) counts bytes read and
 * stored (first location).  A cancel_request() (common/cancel.h) makes it
 * fail at once with "cancelled".
 */
int	 pipeline_backup(int in_fd, int zstd, int level, int threads,
	    struct pipeline_sink *sinks, size_t nsinks, struct progress *progress,
	    uint64_t *raw, char *err, size_t errlen);
/*
 * compression = zstd:auto (zstd with threads > 0): al, initialised by the
 * caller, sets the level as the dump goes and counts the bytes of each.
 */
int	 pipeline_backup_auto(int in_fd, int threads, struct autolevel *al,
	    struct pipeline_sink *sinks, size_t nsinks, struct progress *progress,
	    uint64_t *raw, char *err, size_t errlen);
/*
 * The same with head (headlen bytes) put in before what in_fd gives: an
 * object whose plain stream begins with a head of its own (an archived WAL
 * file's, runner/wal/walobj.h).
 */
int	 pipeline_backup_head(const void *head, size_t headlen, int in_fd, int zstd,
	    int level, int threads, struct pipeline_sink *sinks, size_t nsinks,
	    struct progress *progress, uint64_t *raw, char *err, size_t errlen);
/* Commits every upload; on a failure aborts the rest and says which failed. */
int	 pipeline_commit(struct pipeline_sink *, size_t, char *err, size_t errlen);
void	 pipeline_abort(struct pipeline_sink *, size_t);

/*
 * Streams the object at key into out_fd (-1: check and discard).  id names
 * the backup in errors; sha256 and cipher (either may be NULL) are the
 * manifest's, checked against the object.  A backup that is not encrypted
 * is refused when kr holds keys.  Nothing of a frame goes out before it has
 * been checked, and the last 64 KiB of the stream only once the whole
 * object has.  raw: bytes of the plain stream.  progress (may be NULL)
 * counts bytes fetched and written.  Cancellation as for pipeline_backup().
 */
int	 pipeline_restore(struct storage *, const char *key, const struct keyring *,
	    const char *id, const char *sha256, const char *cipher, int out_fd,
	    struct progress *progress,
	    uint64_t *raw, char *err, size_t errlen);
/*
 * The same for such an object: its first headlen plain bytes go into head
 * (the call fails when there are fewer), the rest into out_fd.  head_only:
 * the transfer stops once the head is there, checked as the first frame is,
 * and nothing after it is read.  *missing (may be NULL) is set when the key
 * does not exist.
 */
int	 pipeline_restore_head(struct storage *, const char *key, const struct keyring *,
	    const char *id, const char *sha256, const char *cipher, void *head,
	    size_t headlen, int head_only, int out_fd, struct progress *progress,
	    uint64_t *raw, int *missing, char *err, size_t errlen);

#endif
