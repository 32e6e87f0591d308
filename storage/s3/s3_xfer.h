/*
 * s3_xfer: one S3 location (struct s3) and one request to it, signed (s3_sign)
 * with the location's current credentials (s3_creds), tried as often as
 * worth it.
 *
 * A request is retried with exponential backoff and jitter on 5xx (but 501
 * NotImplemented: it will not change), 429, SlowDown, RequestTimeout,
 * connection errors and stalls, up to max_tries; once more, without using
 * up a try, after ExpiredToken (the credentials are fetched again) and
 * after RequestTimeTooSkewed (it is signed again on the store's clock).  A
 * cancel (SIGINT, SIGTERM) ends it at once with "cancelled".  Error text
 * names the request, S3's code and message (when there is one) and the
 * request id, and never a credential.
 */
#ifndef KB_S3_XFER_H
#define KB_S3_XFER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "storage/s3/s3_creds.h"
#include "storage/s3/s3_http.h"
#include "storage/storage.h"

#define S3_EMPTY_SHA256		\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_XFER_HEADERS		12

/* One location: the [storage] section of type s3, opened. */
struct s3 {
	char		*scheme;	/* "https" */
	char		*host;		/* host[:port] of the endpoint */
	char		*region;
	char		*bucket;
	char		*prefix;	/* without leading or trailing '/'; may be "" */
	int		 path_style;
	int		 tls_verify;
	char		*ca_file;
	struct s3_creds	*creds;
	uint64_t	 part_size;
	unsigned	 parts_in_flight;
	unsigned	 max_tries;
	const char	*lock_mode;	/* "GOVERNANCE", "COMPLIANCE"; NULL: object_lock = off */
	char		*storage_class;	/* NULL: the bucket's default */
	const char	*sse;		/* "AES256", "aws:kms"; NULL: the bucket's default */
	char		*sse_kms_key_id;
	int		 checksum;	/* x-amz-checksum-sha256 with every body */
	/* What the store was found to lack or have. */
	int		 no_batch_delete;	/* DeleteObjects answered 501 */
	int		 versioned;		/* -1: not asked yet */
	/* The store's clock: the Date of the latest answer, and when (s3_now_ms) it came. */
	time_t		 date;
	uint64_t	 date_at;
	time_t		 skew;		/* store's clock minus ours, after RequestTimeTooSkewed */
	CURLM		*multi;		/* for single requests */
	CURLSH		*share;		/* connections, DNS and TLS sessions of every handle */
};

struct s3_kv {
	char	*name;		/* lowercase */
	char	*value;
};

#define S3_XFER_QUIET_SECONDS	60L	/* no byte for this long: stalled */
/* A request that may answer late (CompleteMultipartUpload): silent this long. */
#define S3_XFER_PATIENT_SECONDS	900L

/* One HTTP request and its response. */
struct s3_xfer {
	struct s3	*s3;
	const char	*method;	/* GET HEAD PUT POST DELETE */
	const char	*what;		/* for messages: the key or "bucket" */
	char		*path;		/* encoded, starts with '/' */
	char		*query;		/* canonical, "" when none */
	const char	*body;
	size_t		 bodylen;
	size_t		 bodypos;
	char		 sha256[65];
	unsigned char	 sha256_bin[32];
	struct s3_kv	 hdr[S3_XFER_HEADERS];	/* extra headers, signed */
	size_t		 nhdr;
	int		 body_error;	/* an <Error> in a 2xx body fails (Complete) */
	int		 cleanup;	/* an abort: one short try, even after a cancel */
	/*
	 * A new connection, never one kept open: curl sends a request again by
	 * itself when a kept connection turns out closed, which would hide a
	 * lost answer from tries (CompleteMultipartUpload, conditional PUT).
	 */
	int		 fresh;
	/*
	 * The server works before it answers: AWS documents that a
	 * CompleteMultipartUpload "could take several minutes" (it sends
	 * blanks meanwhile; s3rver and others send nothing), so silence is
	 * allowed for S3_XFER_PATIENT_SECONDS rather than the usual minute.
	 */
	int		 patient;

	/* get(): bytes from offset + received go to sink */
	storage_read_fn	 sink;
	void		*sink_arg;
	uint64_t	 offset;
	uint64_t	 received;
	uint64_t	 range_start;	/* of the current try; 0: whole object */
	uint64_t	 skip;		/* bytes still to drop: the store ignored Range */
	int		 body_seen;	/* this try's answer has begun */
	int		 sink_failed;
	char		 sink_err[256];

	CURL		*easy;
	struct curl_slist *headers;
	long		 status;
	struct s3_buf	 resp;
	char		 etag[128];
	char		 request_id[128];	/* x-amz-request-id */
	char		 date[64];		/* Date */
	char		 last_modified[64];
	char		 version_id[256];	/* x-amz-version-id */
	char		 lock_until[64];	/* x-amz-object-lock-retain-until-date */
	char		 lock_mode[32];		/* x-amz-object-lock-mode */
	char		 checksum[64];		/* x-amz-checksum-sha256 */
	char		 curlerr[CURL_ERROR_SIZE];
	unsigned	 tries;
	unsigned	 again;		/* tries that used up no try (token, clock) */
	int		 missing;	/* 404 NoSuchKey, or 404 without a body */
	char		 code[64];	/* S3's error code, "" when none */
};

/* What s3_xfer_check() makes of a finished try. */
#define S3_XFER_FAIL	-1
#define S3_XFER_OK	0
#define S3_XFER_RETRY	1	/* uses up a try */
#define S3_XFER_AGAIN	2	/* at once, without using up a try */

/* Takes path and query (new strings; query may be NULL). */
void	 s3_xfer_init(struct s3_xfer *, struct s3 *, const char *method, const char *what,
	    char *path, char *query);
/* The body, hashed here; it must outlive the request. */
void	 s3_xfer_body(struct s3_xfer *, const void *body, size_t len);
/* An extra header (name in lowercase), sent and signed. */
void	 s3_xfer_header(struct s3_xfer *, const char *name, const char *value);
/* x-amz-checksum-sha256 of the body (when the location sends checksums). */
void	 s3_xfer_checksum(struct s3_xfer *);
/* The body's SHA-256 in base64, as x-amz-checksum-sha256 carries it. */
void	 s3_xfer_sha256_b64(const struct s3_xfer *, char out[48]);
/* Content-MD5 of the body. */
void	 s3_xfer_md5(struct s3_xfer *);
/* Until it succeeds, fails for good, or max_tries is used up. */
int	 s3_xfer_run(struct s3_xfer *, char *err, size_t errlen);
void	 s3_xfer_free(struct s3_xfer *);

/*
 * GETs of the bucket with ?param (uploads, versions) and prefix (a full
 * key), page after page: page() parses one and sets the next key marker and
 * second marker (id_marker: upload-id-marker, version-id-marker), NULL at
 * the end.  *unsupported (may be NULL) is set when the store answers 501.
 */
typedef int (*s3_page_fn)(const char *body, size_t len, void *arg, char **next_key,
	    char **next_id, char *err, size_t errlen);
int	 s3_xfer_pages(struct s3 *, const char *param, const char *prefix,
	    const char *id_marker, s3_page_fn page, void *arg, int *unsupported, char *err,
	    size_t errlen);
/*
 * DELETE of key at path (a new string) with one query parameter (param may
 * be NULL); a 404 is success.  cleanup: one short try, even after a cancel.
 */
int	 s3_xfer_delete(struct s3 *, const char *key, char *path, const char *param,
	    const char *value, int cleanup, char *err, size_t errlen);

/* For transfers driven elsewhere (the parts of an upload): one try at a time. */
int	 s3_xfer_setup(struct s3_xfer *, char *err, size_t errlen);
int	 s3_xfer_check(struct s3_xfer *, CURLcode, char *err, size_t errlen);
void	 s3_xfer_reset(struct s3_xfer *);
/* Exponential backoff with full jitter before try n + 1. */
uint64_t s3_backoff_ms(unsigned n);

/* Keys and paths: prefix/key; /BUCKET/KEY (path style) or /KEY, encoded. */
char	*s3_full_key(struct s3 *, const char *key);
/* The key a listed full key is s3_full_key() of; NULL if it is not one (shorter). */
const char *s3_listed_key(struct s3 *, const char *full);
char	*s3_object_path(struct s3 *, const char *key);
char	*s3_bucket_path(struct s3 *);

#endif
