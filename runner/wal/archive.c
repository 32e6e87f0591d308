/*
 * archive: WAL files in a location, stored and fetched.  See archive.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/schema.h"
#include "runner/stream/compress.h"
#include "runner/stream/pipeline.h"
#include "runner/wal/archive.h"

#define SCAN_CHUNK	(128 * 1024)
#define HISTORY_MAX	(16 * 1024 * 1024)	/* history and backup files are small text */
#define IDENTITY_MAX	4096

char *
wal_prefix(const char *base)
{
	return xasprintf("%s/wal/", base);
}

char *
wal_key(const char *base, const char *name)
{
	if (strlen(name) == 16)		/* TTTTTTTT.history */
		return xasprintf("%s/wal/%s", base, name);
	return xasprintf("%s/wal/%.8s/%s", base, name, name);
}

char *
wal_identity_key(const char *base)
{
	return xasprintf("%s/wal/archive.json", base);
}

void
wal_store_opts(const struct runner *r, struct wal_store_opts *o)
{
	memset(o, 0, sizeof(*o));
	compression_parse(config_get(r->backup, "compression"), &o->zstd, &o->level);
	/* zstd:auto follows a dump's speed; a WAL file is no dump: the level it starts at. */
	if (o->level == COMPRESS_LEVEL_AUTO)
		o->level = AUTOLEVEL_START;
	o->threads = (int)config_get_uint(r->backup, "compression_threads");
}

int
wal_identity_read(struct storage *st, const char *base, struct wal_identity *id,
    int *missing, char *err, size_t errlen)
{
	json_t		*o;
	json_error_t	 je;
	const char	*sys;
	char		*key, *buf;
	size_t		 len;
	int		 rc;

	memset(id, 0, sizeof(*id));
	key = wal_identity_key(base);
	rc = storage_get_buffer(st, key, IDENTITY_MAX, &buf, &len, missing, err, errlen);
	if (rc == -1) {
		free(key);
		return -1;
	}
	o = json_loadb(buf, len, 0, &je);
	free(buf);
	if (o == NULL || !json_is_object(o) ||
	    json_integer_value(json_object_get(o, "format")) != 1 ||
	    (sys = json_string_value(json_object_get(o, "system_identifier"))) == NULL ||
	    strspn(sys, "0123456789") != strlen(sys) || strlen(sys) < 1 || strlen(sys) > 20 ||
	    !pg_wal_segsize_valid((uint64_t)json_integer_value(json_object_get(o,
	    "wal_segment_size")))) {
		json_decref(o);
		rc = errf(err, errlen, "%s: not an archive identity of format 1", key);
		free(key);
		return rc;
	}
	id->sysid = strtoull(sys, NULL, 10);
	id->segsize = (uint64_t)json_integer_value(json_object_get(o, "wal_segment_size"));
	json_decref(o);
	free(key);
	return 0;
}

static int
identity_create(struct storage *st, const char *base, const struct wal_identity *want,
    int *exists, char *err, size_t errlen)
{
	struct storage_put	 put;
	char			 sys[24], now[21], *text, *key;
	int			 rc;

	snprintf(sys, sizeof(sys), "%llu", (unsigned long long)want->sysid);
	time_to_rfc3339(time(NULL), now);
	text = xasprintf("{\n  \"format\": 1,\n  \"system_identifier\": \"%s\",\n"
	    "  \"wal_segment_size\": %llu,\n  \"created\": \"%s\"\n}\n", sys,
	    (unsigned long long)want->segsize, now);
	memset(&put, 0, sizeof(put));
	put.if_absent = 1;
	key = wal_identity_key(base);
	rc = storage_put_buffer(st, key, text, strlen(text), &put, exists, err, errlen);
	free(key);
	free(text);
	return rc;
}

#define CACHE_MAX	65536

static int	identity_verify(struct location *, const char *, const struct wal_identity *,
		    int, char *, size_t);

/* The cache's line for this location and identity. */
static char *
cache_line(struct location *loc, const char *base, const struct wal_identity *want)
{
	return xasprintf("%llu %llu %s %s\n", (unsigned long long)want->sysid,
	    (unsigned long long)want->segsize, base, loc->desc);
}

static int
cache_has(const char *cache, const char *line)
{
	char	*buf;
	size_t	 len;
	int	 found;

	if (cache == NULL || read_file(cache, CACHE_MAX, &buf, &len, NULL, 0) == -1)
		return 0;
	found = strstr(buf, line) != NULL && (buf == strstr(buf, line) ||
	    strstr(buf, line)[-1] == '\n');
	free(buf);
	return found;
}

/* Appended (small writes to an O_APPEND file do not interleave); a full cache starts over. */
static void
cache_add(const char *cache, const char *line)
{
	struct stat	sb;
	int		fd, flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;

	if (cache == NULL)
		return;
	if (stat(cache, &sb) == 0 && sb.st_size > CACHE_MAX / 2)
		flags |= O_TRUNC;
	if ((fd = open(cache, flags, 0600)) == -1)
		return;
	if (write_all(fd, line, strlen(line)) == -1)
		log_kv(LOGL_DEBUG, "WAL archive identity not remembered", "error",
		    strerror(errno), NULL);
	close(fd);
}

char *
wal_identity_cache(const char *state_dir)
{
	return path_join(state_dir, "wal-identity");
}

int
wal_identity_check(struct location *loc, const char *base, const struct wal_identity *want,
    const char *cache, char *err, size_t errlen)
{
	char	*line;
	int	 known;

	line = cache_line(loc, base, want);
	known = cache_has(cache, line);
	if (identity_verify(loc, base, want, known, err, errlen) == -1) {
		free(line);
		return -1;
	}
	if (!known)
		cache_add(cache, line);
	free(line);
	return 0;
}

/*
 * wal_identity_check()'s read.  known: the cache saw archive.json here, so
 * that one missing now is no new archive but another store at the same
 * place (a file storage's mount gone): segments stored there would be
 * hidden again when it comes back, a gap, PostgreSQL having deleted them.
 */
static int
identity_verify(struct location *loc, const char *base, const struct wal_identity *want,
    int known, char *err, size_t errlen)
{
	struct wal_identity	have;
	int			missing = 0, exists = 0;

	if (wal_identity_read(loc->st, base, &have, &missing, err, errlen) == -1) {
		if (!missing)
			return -1;
		if (known)
			return errf(err, errlen, "the WAL archive in %s is gone (no archive.json, "
			    "which was there): is the store mounted, the path or prefix right?",
			    loc->desc);
		if (identity_create(loc->st, base, want, &exists, err, errlen) == 0) {
			log_kv(LOGL_INFO, "WAL archive created", "location", loc->desc, NULL);
			return 0;
		}
		/* Another writer created it first: read what it wrote. */
		if (!exists || wal_identity_read(loc->st, base, &have, &missing, err,
		    errlen) == -1)
			return -1;
	}
	return wal_identity_same(loc, &have, want, "this WAL", err, errlen);
}

int
wal_identity_same(const struct location *loc, const struct wal_identity *have,
    const struct wal_identity *want, const char *what, char *err, size_t errlen)
{
	if (have->sysid != want->sysid || have->segsize != want->segsize)
		return errf(err, errlen, "the WAL archive in %s belongs to database system %llu "
		    "(segments of %llu bytes), %s to system %llu (%llu bytes): another "
		    "cluster's; give it a definition of its own", loc->desc,
		    (unsigned long long)have->sysid, (unsigned long long)have->segsize, what,
		    (unsigned long long)want->sysid, (unsigned long long)want->segsize);
	return 0;
}

/* Which segment size a file's name is read with: a segment's own size, else any. */
static uint64_t
name_segsize(const char *name, uint64_t file_size)
{
	size_t	len = strlen(name);

	if (len == PG_WAL_SEG_NAME_LEN || (len == PG_WAL_SEG_NAME_LEN + 8 &&
	    strcmp(name + PG_WAL_SEG_NAME_LEN, ".partial") == 0))
		return file_size;
	return PG_WAL_SEG_SIZE_DEFAULT;
}

static int
scan_read(int fd, struct walobj_head *h, struct walseg_scan *ws, int segment, char *err,
    size_t errlen)
{
	EVP_MD_CTX	*sha;
	unsigned char	*buf, md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	ssize_t		 n;
	uint64_t	 total = 0;
	int		 rc = 0;

	if ((sha = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(sha, EVP_sha256(),
	    NULL) != 1) {
		EVP_MD_CTX_free(sha);
		return errf(err, errlen, "SHA-256 unavailable");
	}
	buf = xmalloc(SCAN_CHUNK);
	if (lseek(fd, 0, SEEK_SET) == -1)
		rc = errf(err, errlen, "%s: %s", h->name, strerror(errno));
	while (rc == 0 && (n = read(fd, buf, SCAN_CHUNK)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			rc = errf(err, errlen, "reading %s: %s", h->name, strerror(errno));
			break;
		}
		EVP_DigestUpdate(sha, buf, (size_t)n);
		total += (uint64_t)n;
		if (segment && walseg_feed(ws, buf, (size_t)n) == -1)
			rc = errf(err, errlen, "%s", ws->err);
	}
	if (rc == 0 && total != h->size)
		rc = errf(err, errlen, "%s changed while it was read (%llu bytes, then %llu)",
		    h->name, (unsigned long long)h->size, (unsigned long long)total);
	EVP_DigestFinal_ex(sha, md, &mdlen);
	memcpy(h->sha256, md, sizeof(h->sha256));
	EVP_MD_CTX_free(sha);
	free(buf);
	return rc;
}

int
wal_file_scan(int fd, const char *name, struct walobj_head *h, struct walseg_info *infop,
    char *err, size_t errlen)
{
	struct stat		 sb;
	struct pg_wal_name		 n;
	struct walseg_scan	 ws;
	struct walseg_info	 info;
	int			 segment, rc;

	memset(h, 0, sizeof(*h));
	memset(&info, 0, sizeof(info));
	if (fstat(fd, &sb) == -1)
		return errf(err, errlen, "%s: %s", name, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return errf(err, errlen, "%s: not a regular file", name);
	if (pg_wal_name_parse(name, name_segsize(name, (uint64_t)sb.st_size), &n) == -1)
		return errf(err, errlen, "%s: not the name of a WAL file (a segment, "
		    "TIMELINE.history, .partial or .backup)%s", name,
		    strlen(name) == PG_WAL_SEG_NAME_LEN ? ", or a segment of a size PostgreSQL "
		    "never makes" : "");
	segment = n.kind == PG_WAL_SEGMENT || n.kind == PG_WAL_PARTIAL;
	if (!segment && sb.st_size > HISTORY_MAX)
		return errf(err, errlen, "%s: %lld bytes, too large for a history file", name,
		    (long long)sb.st_size);
	strlcpy(h->name, name, sizeof(h->name));
	h->kind = n.kind;
	h->size = (uint64_t)sb.st_size;
	h->completed = sb.st_mtime;
	if (segment)
		walseg_begin(&ws, n.tli, n.segno, h->size);
	rc = scan_read(fd, h, &ws, segment, err, errlen);
	if (segment) {
		if (rc == 0)
			rc = walseg_end(&ws, &info, err, errlen);
		walseg_free(&ws);
	}
	if (rc == -1)
		return -1;
	if (segment) {
		h->pg_magic = info.magic;
		h->tli = info.tli;
		h->sysid = info.sysid;
		h->last_xact_us = info.last_xact_us;
		h->nxact = info.nxact;
		h->flags = (info.times_complete ? WALOBJ_TIMES_COMPLETE : 0) |
		    (info.switched ? WALOBJ_SWITCHED : 0);
		if (!info.times_complete && n.kind == PG_WAL_SEGMENT)
			log_kv(LOGL_WARN, "commit times of the segment read only in part: the "
			    "recoverable window may end earlier than it could", "segment", name,
			    "where", info.stopped, NULL);
	}
	if (infop != NULL)
		*infop = info;
	return 0;
}

/* What is stored under key: its head, every frame checked (a whole download). */
static int
stored_same(struct location *loc, const struct keyring *kr, const char *key,
    const struct walobj_head *h, char *err, size_t errlen)
{
	unsigned char		 raw[WALOBJ_HEAD_LEN];
	struct walobj_head	 have;
	char			 a[65], b[65];
	uint64_t		 plain;

	if (pipeline_restore_head(loc->st, key, kr, h->name, NULL, NULL, raw, sizeof(raw), 0,
	    -1, NULL, &plain, NULL, err, errlen) == -1 ||
	    walobj_decode(raw, &have, err, errlen) == -1)
		return errprefix(err, errlen, "%s is stored already but cannot be read, so it "
		    "is not known to hold the same bytes; it was not replaced (remove it from "
		    "%s if it is damaged)", h->name, loc->desc);
	if (strcmp(have.name, h->name) != 0 || have.size != h->size ||
	    plain != WALOBJ_HEAD_LEN + have.size ||
	    memcmp(have.sha256, h->sha256, sizeof(h->sha256)) != 0) {
		hex_encode(have.sha256, 32, a);
		hex_encode(h->sha256, 32, b);
		return errf(err, errlen, "%s is archived already with other content (stored: "
		    "%llu bytes, SHA-256 %s; this one: %llu bytes, SHA-256 %s): refusing it, the "
		    "archive keeps the stored one", h->name, (unsigned long long)have.size, a,
		    (unsigned long long)h->size, b);
	}
	return 0;
}

int
archive_put(struct location *loc, const struct keyring *kr, const char *key,
    const void *head, size_t headlen, int fd, uint64_t size, const struct wal_store_opts *o,
    int *exists, char *err, size_t errlen)
{
	struct pipeline_sink	 sink;
	uint64_t		 plain;
	int			 rc;

	*exists = 0;
	memset(&sink, 0, sizeof(sink));
	sink.st = loc->st;
	sink.secret = keyring_current(kr);
	sink.key = key;
	sink.put.if_absent = 1;
	sink.put.size_hint = size;
	rc = pipeline_backup_head(head, headlen, fd, o->zstd, o->level, o->threads, &sink,
	    1, NULL, &plain, err, errlen);
	if (rc == 0) {
		rc = pipeline_commit(&sink, 1, err, errlen);
		*exists = sink.exists;
	}
	return rc;
}

int
wal_store(struct location *loc, const char *base, const struct keyring *kr, int fd,
    const struct walobj_head *h, const struct wal_store_opts *o, int *same, char *err,
    size_t errlen)
{
	unsigned char		 raw[WALOBJ_HEAD_LEN];
	char			*key;
	int			 exists = 0, rc;

	*same = 0;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return errf(err, errlen, "%s: %s", h->name, strerror(errno));
	walobj_encode(h, raw);
	key = wal_key(base, h->name);
	rc = archive_put(loc, kr, key, raw, sizeof(raw), fd, h->size, o, &exists, err, errlen);
	if (rc == -1 && exists) {
		rc = stored_same(loc, kr, key, h, err, errlen);
		*same = rc == 0;
	} else if (rc == -1)
		errprefix(err, errlen, "storing %s in %s", h->name, loc->desc);
	free(key);
	return rc;
}

int
wal_read_head(struct location *loc, const struct keyring *kr, const char *key,
    const char *name, struct walobj_head *h, int *missing, char *err, size_t errlen)
{
	unsigned char	raw[WALOBJ_HEAD_LEN];
	uint64_t	plain;

	if (pipeline_restore_head(loc->st, key, kr, name, NULL, NULL, raw, sizeof(raw), 1, -1,
	    NULL, &plain, missing, err, errlen) == -1)
		return -1;
	if (walobj_decode(raw, h, err, errlen) == -1)
		return errprefix(err, errlen, "%s", key);
	if (strcmp(h->name, name) != 0)
		return errf(err, errlen, "%s holds %s, not %s: swapped", key, h->name, name);
	return 0;
}

/* The fetched bytes at fd: their SHA-256 and size as the head says, a segment's identity. */
static int
fetched_check(int fd, const char *name, const struct walobj_head *h, char *err,
    size_t errlen)
{
	struct walobj_head	 got;
	struct walseg_info	 info;
	struct pg_wal_name		 n;
	unsigned char		 first[64];
	char			 a[65], b[65];

	memset(&got, 0, sizeof(got));
	strlcpy(got.name, name, sizeof(got.name));
	got.size = h->size;
	if (scan_read(fd, &got, NULL, 0, err, errlen) == -1)
		return errprefix(err, errlen, "%s as fetched", name);
	if (memcmp(got.sha256, h->sha256, sizeof(got.sha256)) != 0) {
		hex_encode(got.sha256, 32, a);
		hex_encode(h->sha256, 32, b);
		return errf(err, errlen, "%s: SHA-256 %s where its head says %s", name, a, b);
	}
	if (h->kind != PG_WAL_SEGMENT && h->kind != PG_WAL_PARTIAL)
		return 0;
	if (pg_wal_name_parse(name, h->size, &n) == -1)
		return errf(err, errlen, "%s: its head gives a segment size of %llu bytes", name,
		    (unsigned long long)h->size);
	if (pread(fd, first, sizeof(first), 0) != (ssize_t)sizeof(first))
		return errf(err, errlen, "%s: shorter than a page header", name);
	if (walseg_identify(first, sizeof(first), n.tli, n.segno, h->size, &info, err,
	    errlen) == -1)
		return -1;
	if (info.sysid != h->sysid)
		return errf(err, errlen, "%s: of database system %llu, its head says %llu", name,
		    (unsigned long long)info.sysid, (unsigned long long)h->sysid);
	return 0;
}

int
wal_fetch(struct location *loc, const struct keyring *kr, const char *base,
    const char *name, int out_fd, struct walobj_head *hp, int *missing, char *err,
    size_t errlen)
{
	unsigned char		 raw[WALOBJ_HEAD_LEN];
	struct walobj_head	 h;
	char			*key;
	uint64_t		 plain;
	int			 rc;

	key = wal_key(base, name);
	rc = pipeline_restore_head(loc->st, key, kr, name, NULL, NULL, raw, sizeof(raw), 0,
	    out_fd, NULL, &plain, missing, err, errlen);
	if (rc == 0 && walobj_decode(raw, &h, err, errlen) == -1)
		rc = errprefix(err, errlen, "%s", key);
	if (rc == 0 && strcmp(h.name, name) != 0)
		rc = errf(err, errlen, "%s holds %s, not %s: swapped", key, h.name, name);
	if (rc == 0 && plain != WALOBJ_HEAD_LEN + h.size)
		rc = errf(err, errlen, "%s: %llu bytes where its head says %llu: truncated",
		    name, (unsigned long long)(plain - WALOBJ_HEAD_LEN),
		    (unsigned long long)h.size);
	if (rc == 0 && out_fd != -1)
		rc = fetched_check(out_fd, name, &h, err, errlen);
	if (rc == 0 && hp != NULL)
		*hp = h;
	free(key);
	return rc;
}
