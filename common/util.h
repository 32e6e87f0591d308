/*
 * util: small helpers every module uses: allocation that cannot fail (the
 * program exits on out-of-memory, as OpenSSH's xmalloc does), error buffers,
 * whole-buffer I/O, and atomic file replacement.
 *
 * Error convention of the whole tree: a function that can fail returns 0 on
 * success and -1 on failure, and fills a caller's buffer (char *err, size_t
 * errlen) with one line of context.  The caller decides whether to log it,
 * add context or recover; an error is logged once, by whoever gives up.
 */
#ifndef KB_UTIL_H
#define KB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define KB_ERRLEN 512

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* xstrdup, or NULL for NULL. */
char	*xstrdup_or_null(const char *);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Fills err (if not NULL) and returns -1, so that "return errf(...)" reads naturally. */
int	 errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the message already in err; returns -1. */
int	 errprefix(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* write(2)/read(2) until done; read_full returns bytes read (short only at EOF) or -1. */
int	 write_all(int fd, const void *buf, size_t len);
ssize_t	 read_full(int fd, void *buf, size_t len);
/* pread(2) until len bytes from off, or EOF: the bytes read, or -1. */
ssize_t	 pread_full(int fd, void *buf, size_t len, off_t off);
/*
 * The path fd is open on (from /proc/self/fd), else "fd N": for messages of
 * code handed only a descriptor, whose failures (a full disk) must still
 * name the file.  errno is kept.
 */
const char *fd_name(int fd, char *buf, size_t len);
/* This host's name, always terminated; fallback where the system gives none. */
const char *host_name(char *buf, size_t len, const char *fallback);
/* Reads fd to its end (or an error), discarding: a writer into the pipe never blocks. */
void	 read_to_end(int fd);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer. */
int	 read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
	    size_t errlen);
/* Writes path via a temporary file in the same directory, fsync, rename, fsync(dir). */
int	 write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
	    char *err, size_t errlen);
/* mkdir -p with the given mode for the directories it creates. */
int	 mkdir_p(const char *path, mode_t mode, char *err, size_t errlen);
/* mkdir_p of the directory path is in (before its last '/'), where it names one. */
int	 mkdir_parent(const char *path, mode_t mode, char *err, size_t errlen);
int	 fsync_dir(const char *dir, char *err, size_t errlen);

/* Removes the files of a directory (not its subdirectories), leaving it. */
void	 dir_unlink_files(const char *dir);

/* Big-endian integers of the stored formats and of PostgreSQL's replication protocol. */
void	 be32_put(unsigned char *p, uint32_t v);
void	 be64_put(unsigned char *p, uint64_t v);
uint32_t be32_get(const unsigned char *p);
uint64_t be64_get(const unsigned char *p);
/* Little-endian integers of the files servers write (WAL pages, pg_control, binary logs). */
uint16_t le16_get(const unsigned char *p);
uint32_t le32_get(const unsigned char *p);
uint64_t le64_get(const unsigned char *p);

/* Joins with exactly one '/' between non-empty parts; returns a new string. */
char	*path_join(const char *a, const char *b);

/*
 * The two forms times are stored in (strict: nothing else is read back,
 * years 1970-9999):
 *   20261124T030000Z       backup IDs (the time part), buf of 17 bytes
 *   2026-11-24T03:00:00Z   manifests, indexes, logs (RFC 3339 UTC), 21 bytes
 */
#define TIME_STORED_MAX	((time_t)253402300799LL)	/* 9999-12-31T23:59:59Z */
/* -1, err filled, when this host's clock says t: a time the stored forms cannot hold. */
int	 time_check_clock(time_t t, char *err, size_t errlen);
void	 time_to_id(time_t t, char buf[17]);
int	 id_to_time(const char *id, time_t *t);
void	 time_to_rfc3339(time_t t, char buf[21]);
int	 rfc3339_to_time(const char *s, time_t *t);

/* Lowercase hex of len bytes; out needs 2*len+1 bytes. */
void	 hex_encode(const unsigned char *in, size_t len, char *out);
/* The 2*len hex digits at in (either case) as len bytes; -1 at anything else. */
int	 hex_decode(const char *in, size_t len, unsigned char *out);

/* 1 if s starts with prefix. */
int	 startswith(const char *s, const char *prefix);

/* Human-readable byte count ("1.5 GiB"); buf needs 16 bytes. */
void	 format_bytes(uint64_t n, char buf[16]);
/* CLOCK_MONOTONIC in milliseconds; in seconds to its full resolution, for durations. */
int64_t	 monotonic_ms(void);
double	 monotonic_seconds(void);

/* s between two quote characters, with quote and backslash escaped by a backslash. */
char	*str_quote(const char *s, char quote);

/* VmHWM of /proc/self/status in KiB (peak resident memory), or -1 where there is none. */
long	 peak_rss_kib(void);

/* Splits s on blanks into a NULL-terminated word array (no quoting, no shell). */
char	**words_split(const char *s, size_t *n);
void	  words_free(char **);

#endif
