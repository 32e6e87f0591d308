/*
 * pipeline: dump → zstd → container → SHA-256 → storage, and back.
 */
#define _GNU_SOURCE	/* F_SETPIPE_SZ (Linux) */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "runner/stream/compress.h"
#include "runner/stream/pipeline.h"

#define TICK_MS		1000	/* progress and cancellation while the dump is quiet */
/*
 * The dump's pipe (and the restore tool's), from the default 64 KiB to the
 * size an unprivileged process may ask for (fs.pipe-max-size, 1 MiB by
 * default): while the zstd workers hold every job buffer, the dump tool
 * keeps writing into the pipe instead of stalling, and the database behind it.
 */
#define PIPE_SIZE	(1024 * 1024)
/* A pipe that filled while zstd's workers were busy is emptied in one read. */
#define READ_SIZE	PIPE_SIZE

/* A bigger pipe where the system allows (Linux); the default where it does not. */
static void
pipe_grow(int fd)
{
	struct stat	sb;

	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
}

struct backup_state {
	struct pipeline_sink	*sinks;
	size_t			 nsinks;
};

/* Container output of one sink: hash it, count it, upload it. */
static int
sink_store(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct pipeline_sink	*s = arg;

	EVP_DigestUpdate(s->sha, buf, len);
	s->stored += len;
	if (s->progress != NULL)
		progress_add_stored(s->progress, len);
	return s->st->ops->put_write(s->up, buf, len, err, errlen);
}

/* Compressed bytes go to every location's container. */
static int
fan_out(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct backup_state	*b = arg;
	size_t			 i;

	for (i = 0; i < b->nsinks; i++)
		if (container_writer_write(b->sinks[i].cw, buf, len, err, errlen) == -1)
			return errprefix(err, errlen, "storage %s", b->sinks[i].st->name);
	return 0;
}

static int
sinks_begin(struct pipeline_sink *sinks, size_t n, int zstd, char *err, size_t errlen)
{
	struct pipeline_sink	*s;
	size_t			 i;

	for (i = 0; i < n; i++) {
		s = &sinks[i];
		s->sha = EVP_MD_CTX_new();
		if (s->sha == NULL || EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
			return errf(err, errlen, "SHA-256 unavailable");
		if (s->st->ops->put_begin(s->st, s->key, &s->put, &s->up, err, errlen) == -1)
			return errprefix(err, errlen, "storage %s", s->st->name);
		if (container_writer_new(&s->cw, zstd ? CONTAINER_COMP_ZSTD : CONTAINER_COMP_NONE,
		    s->secret, sink_store, s, err, errlen) == -1)
			return errprefix(err, errlen, "storage %s", s->st->name);
	}
	return 0;
}

static int
sinks_finish(struct pipeline_sink *sinks, size_t n, char *err, size_t errlen)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (container_writer_finish(sinks[i].cw, err, errlen) == -1)
			return errprefix(err, errlen, "storage %s", sinks[i].st->name);
		container_writer_info(sinks[i].cw, &sinks[i].info);
		EVP_DigestFinal_ex(sinks[i].sha, md, &mdlen);
		hex_encode(md, mdlen, sinks[i].sha256);
	}
	return 0;
}

static void
sink_release(struct pipeline_sink *s)
{
	container_writer_free(s->cw);
	s->cw = NULL;
	EVP_MD_CTX_free(s->sha);
	s->sha = NULL;
}

void
pipeline_abort(struct pipeline_sink *sinks, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (sinks[i].up != NULL)
			sinks[i].st->ops->put_abort(sinks[i].up);
		sinks[i].up = NULL;
		sink_release(&sinks[i]);
	}
}

/*
 * Waits until in_fd is readable, ticking progress; -1 with "cancelled" once
 * a cancellation was requested.
 */
static int
wait_readable(int in_fd, struct progress *progress, char *err, size_t errlen)
{
	struct pollfd	pfd[2];
	int		n;

	pfd[0].fd = in_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = cancel_fd();
	pfd[1].events = POLLIN;
	for (;;) {
		if (cancel_requested())
			return errf(err, errlen, "cancelled");
		pfd[0].revents = pfd[1].revents = 0;
		n = poll(pfd, pfd[1].fd == -1 ? 1 : 2, TICK_MS);
		if (n == -1 && errno != EINTR)
			return errf(err, errlen, "poll: %s", strerror(errno));
		if (progress != NULL)
			progress_tick(progress);
		if (n > 0 && pfd[0].revents != 0 && !cancel_requested())
			return 0;
	}
}

/*
 * What the dump's pipe holds before a read, and how much it can: zstd:auto's
 * signal (autolevel.h).  0 of 0 where the system cannot tell.
 */
static void
pipe_fill(int fd, size_t *avail, size_t *cap)
{
	int	n = 0, c;

	*avail = *cap = 0;
	if ((c = fcntl(fd, F_GETPIPE_SZ)) > 0 && ioctl(fd, FIONREAD, &n) == 0 && n >= 0) {
		*avail = (size_t)n;
		*cap = (size_t)c;
	}
}

/* One read's worth of zstd:auto: the level for what follows, changed if the controller says. */
static int
auto_step(struct autolevel *al, struct compressor *c, size_t avail, size_t cap, size_t n,
    char *err, size_t errlen)
{
	char	level[8], idle[16];
	int	was = al->level;

	if (cap == 0)
		return 0;
	if (autolevel_read(al, avail, cap, n, monotonic_ms()) == was)
		return 0;
	snprintf(level, sizeof(level), "%d", al->level);
	snprintf(idle, sizeof(idle), "%.2f", al->idle);
	log_kv(LOGL_DEBUG, "zstd:auto", "step", al->level > was ? "up" : "down",
	    "level", level, "cpu_idle", idle, NULL);
	return compressor_set_level(c, al->level, err, errlen);
}

static int
backup_stream(const void *head, size_t headlen, int in_fd, int zstd, int level,
    int threads, struct autolevel *al, struct pipeline_sink *sinks, size_t nsinks,
    struct progress *progress, uint64_t *raw, char *err, size_t errlen)
{
	struct backup_state	 b = { sinks, nsinks };
	struct compressor	*c = NULL;
	char			*buf;
	size_t			 avail = 0, cap = 0;
	ssize_t			 n;
	int			 rc = -1;

	*raw = 0;
	if (nsinks > 0)
		sinks[0].progress = progress;
	if (sinks_begin(sinks, nsinks, zstd, err, errlen) == -1 ||
	    compressor_new(&c, zstd ? CONTAINER_COMP_ZSTD : CONTAINER_COMP_NONE, level,
	    threads, fan_out, &b, err, errlen) == -1) {
		pipeline_abort(sinks, nsinks);
		return -1;
	}
	buf = xmalloc(READ_SIZE);
	pipe_grow(in_fd);
	if (headlen > 0) {
		if (compressor_write(c, head, headlen, err, errlen) == -1)
			goto out;
		*raw += headlen;
	}
	for (;;) {
		if (al != NULL)
			pipe_fill(in_fd, &avail, &cap);
		if (wait_readable(in_fd, progress, err, errlen) == -1)
			goto out;
		if ((n = read(in_fd, buf, READ_SIZE)) == -1) {
			if (errno == EINTR)
				continue;
			errf(err, errlen, "reading the dump: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		*raw += (uint64_t)n;
		if (progress != NULL) {
			progress_add_read(progress, (uint64_t)n);
			progress_tick(progress);
		}
		if (compressor_write(c, buf, (size_t)n, err, errlen) == -1)
			goto out;
		if (al != NULL && auto_step(al, c, avail, cap, (size_t)n, err, errlen) == -1)
			goto out;
	}
	if (compressor_finish(c, err, errlen) == -1 ||
	    sinks_finish(sinks, nsinks, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	free(buf);
	compressor_free(c);
	if (rc == -1)
		pipeline_abort(sinks, nsinks);
	return rc;
}

int
pipeline_backup(int in_fd, int zstd, int level, int threads, struct pipeline_sink *sinks,
    size_t nsinks, struct progress *progress, uint64_t *raw, char *err, size_t errlen)
{
	return pipeline_backup_head(NULL, 0, in_fd, zstd, level, threads, sinks, nsinks,
	    progress, raw, err, errlen);
}

int
pipeline_backup_head(const void *head, size_t headlen, int in_fd, int zstd, int level,
    int threads, struct pipeline_sink *sinks, size_t nsinks, struct progress *progress,
    uint64_t *raw, char *err, size_t errlen)
{
	return backup_stream(head, headlen, in_fd, zstd, level, threads, NULL, sinks, nsinks,
	    progress, raw, err, errlen);
}

int
pipeline_backup_auto(int in_fd, int threads, struct autolevel *al,
    struct pipeline_sink *sinks, size_t nsinks, struct progress *progress, uint64_t *raw,
    char *err, size_t errlen)
{
	return backup_stream(NULL, 0, in_fd, 1, al->level, threads, al, sinks, nsinks,
	    progress, raw, err, errlen);
}

int
pipeline_commit(struct pipeline_sink *sinks, size_t n, char *err, size_t errlen)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < n; i++) {
		sink_release(&sinks[i]);
		if (sinks[i].up == NULL)
			continue;
		if (rc == -1) {
			sinks[i].st->ops->put_abort(sinks[i].up);
		} else if (sinks[i].st->ops->put_commit(sinks[i].up, &sinks[i].exists, err,
		    errlen) == -1) {
			errprefix(err, errlen, "storage %s", sinks[i].st->name);
			rc = -1;
		}
		sinks[i].up = NULL;
	}
	return rc;
}

/*
 * The last HOLD_BACK bytes of the restored stream are kept back until the
 * whole object has been checked (trailer, nothing after it, SHA-256): a
 * restore tool that has seen everything but the end cannot commit a backup
 * whose trailer is damaged or that was cut after its last data frame.
 */
#define HOLD_BACK	(64 * 1024)

struct restore_state {
	struct container_reader	*cr;
	struct decompressor	*dc;
	EVP_MD_CTX		*sha;
	const struct keyring	*kr;
	const char		*id;
	const char		*cipher;	/* the manifest's, or NULL */
	int			 out_fd;
	uint64_t		 raw;
	struct progress		*progress;
	unsigned char		*held;
	size_t			 nheld;
	unsigned char		*head;		/* the first headlen plain bytes go here */
	size_t			 headlen;
	size_t			 headfill;
	int			 head_only;	/* stop once the head is there */
	int			 stopped;
};

/*
 * Writes to the restore tool: its pipe is non-blocking (pipeline_restore),
 * so a tool that stops reading leaves us in poll() with the cancel pipe,
 * not in write().
 */
static int
write_cancellable(int fd, const unsigned char *p, size_t len)
{
	struct pollfd	pfd[2];
	ssize_t		n;

	while (len > 0) {
		if (cancel_requested()) {
			errno = ECANCELED;
			return -1;
		}
		if ((n = write(fd, p, len)) > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		pfd[0].fd = fd;
		pfd[0].events = POLLOUT;
		pfd[1].fd = cancel_fd();
		pfd[1].events = POLLIN;
		if (poll(pfd, pfd[1].fd == -1 ? 1 : 2, -1) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

static int
restore_out(struct restore_state *rs, const void *buf, size_t len, char *err,
    size_t errlen)
{
	char	name[PATH_MAX];

	if (rs->progress != NULL)
		progress_add_stored(rs->progress, len);
	if (rs->out_fd == -1 || len == 0)
		return 0;
	if (write_cancellable(rs->out_fd, buf, len) == -1) {
		if (errno == ECANCELED)
			return errf(err, errlen, "cancelled");
		if (errno == EPIPE)
			return errf(err, errlen, "the restore tool stopped reading (see its "
			    "messages above)");
		return errf(err, errlen, "write %s: %s", fd_name(rs->out_fd, name,
		    sizeof(name)), strerror(errno));
	}
	return 0;
}

/* Plain stream: everything but the last HOLD_BACK bytes goes out now. */
static int
restore_write(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct restore_state	*rs = arg;
	const unsigned char	*p = buf;
	size_t			 out, n;

	rs->raw += len;
	if (rs->headfill < rs->headlen) {
		n = rs->headlen - rs->headfill < len ? rs->headlen - rs->headfill : len;
		memcpy(rs->head + rs->headfill, p, n);
		rs->headfill += n;
		p += n;
		len -= n;
		if (rs->head_only && rs->headfill == rs->headlen) {
			rs->stopped = 1;
			return errf(err, errlen, "stopped after the head");
		}
	}
	if (rs->out_fd == -1 || len == 0)
		return 0;
	if (rs->nheld + len <= HOLD_BACK) {
		memcpy(rs->held + rs->nheld, p, len);
		rs->nheld += len;
		return 0;
	}
	out = rs->nheld + len - HOLD_BACK;
	if (out <= rs->nheld) {
		if (restore_out(rs, rs->held, out, err, errlen) == -1)
			return -1;
		memmove(rs->held, rs->held + out, rs->nheld - out);
		rs->nheld -= out;
		memcpy(rs->held + rs->nheld, p, len);
		rs->nheld += len;
		return 0;
	}
	if (restore_out(rs, rs->held, rs->nheld, err, errlen) == -1 ||
	    restore_out(rs, p, out - rs->nheld, err, errlen) == -1)
		return -1;
	p += out - rs->nheld;
	memcpy(rs->held, p, HOLD_BACK);
	rs->nheld = HOLD_BACK;
	return 0;
}

/*
 * The header is known: refuse a backup that is not encrypted where keys are
 * configured (someone able to write the bucket could otherwise replace a
 * backup with a plain one of their own), and one whose cipher is not the
 * one its manifest recorded.
 */
static int
restore_check_header(struct restore_state *rs, const struct container_info *info,
    char *err, size_t errlen)
{
	if (rs->kr->n > 0 && strcmp(info->cipher, "none") == 0)
		return errf(err, errlen, "backup %s is not encrypted, but this location has "
		    "encryption keys: refusing it (it may have been replaced); restore it "
		    "with a config without encryption_key if it is genuinely an old "
		    "unencrypted backup", rs->id);
	if (rs->cipher != NULL && strcmp(info->cipher, rs->cipher) != 0)
		return errf(err, errlen, "backup %s: its data is encrypted with %s but its "
		    "manifest says %s: refusing it (one of them was replaced)", rs->id,
		    info->cipher, rs->cipher);
	return 0;
}

/* Checked payload of a frame: the header is known by now, so is the compression. */
static int
restore_payload(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct restore_state	*rs = arg;
	struct container_info	 info;

	if (rs->dc == NULL) {
		container_reader_info(rs->cr, &info);
		if (restore_check_header(rs, &info, err, errlen) == -1)
			return -1;
		if (decompressor_new(&rs->dc, info.compression, restore_write, rs, err,
		    errlen) == -1)
			return -1;
	}
	return decompressor_write(rs->dc, buf, len, err, errlen);
}

static int
restore_stored(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct restore_state	*rs = arg;

	if (cancel_requested())
		return errf(err, errlen, "cancelled");
	if (rs->progress != NULL) {
		progress_add_read(rs->progress, len);
		progress_tick(rs->progress);
	}
	EVP_DigestUpdate(rs->sha, buf, len);
	return container_reader_feed(rs->cr, buf, len, err, errlen);
}

static int
restore_finish(struct restore_state *rs, const char *id, const char *sha256, char *err,
    size_t errlen)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;
	char		hex[65];

	if (container_reader_finish(rs->cr, err, errlen) == -1)
		return -1;
	if (rs->dc == NULL &&
	    restore_payload("", 0, rs, err, errlen) == -1)
		return -1;
	if (decompressor_finish(rs->dc, err, errlen) == -1)
		return errprefix(err, errlen, "backup %s", id);
	EVP_DigestFinal_ex(rs->sha, md, &mdlen);
	hex_encode(md, mdlen, hex);
	if (sha256 != NULL && strcmp(hex, sha256) != 0)
		return errf(err, errlen, "backup %s: the stored object's SHA-256 %s does not "
		    "match its manifest's %s", id, hex, sha256);
	return restore_out(rs, rs->held, rs->nheld, err, errlen);
}

int
pipeline_restore(struct storage *st, const char *key, const struct keyring *kr,
    const char *id, const char *sha256, const char *cipher, int out_fd,
    struct progress *progress, uint64_t *raw, char *err, size_t errlen)
{
	return pipeline_restore_head(st, key, kr, id, sha256, cipher, NULL, 0, 0, out_fd,
	    progress, raw, NULL, err, errlen);
}

int
pipeline_restore_head(struct storage *st, const char *key, const struct keyring *kr,
    const char *id, const char *sha256, const char *cipher, void *head, size_t headlen,
    int head_only, int out_fd, struct progress *progress, uint64_t *raw, int *missing_out,
    char *err, size_t errlen)
{
	struct restore_state	rs;
	struct stat		sb;
	int			missing = 0, rc = -1;

	if (missing_out != NULL)
		*missing_out = 0;
	memset(&rs, 0, sizeof(rs));
	rs.head = head;
	rs.headlen = headlen;
	rs.head_only = head_only;
	rs.out_fd = out_fd;
	/* A pipe to the restore tool: non-blocking, see write_cancellable(). */
	if (out_fd != -1 && fstat(out_fd, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
		fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
		pipe_grow(out_fd);
	}
	rs.progress = progress;
	rs.kr = kr;
	rs.id = id;
	rs.cipher = cipher;
	if (out_fd != -1)
		rs.held = xmalloc(HOLD_BACK);
	rs.sha = EVP_MD_CTX_new();
	if (rs.sha == NULL || EVP_DigestInit_ex(rs.sha, EVP_sha256(), NULL) != 1) {
		errf(err, errlen, "SHA-256 unavailable");
		goto out;
	}
	if (container_reader_new(&rs.cr, kr->secrets, kr->n, id, restore_payload, &rs, err,
	    errlen) == -1)
		goto out;
	if (st->ops->get(st, key, 0, restore_stored, &rs, &missing, err, errlen) == -1) {
		if (rs.stopped) {
			rc = 0;
			goto out;
		}
		if (missing)
			errf(err, errlen, "backup %s: its data (%s) is missing", id, key);
		if (missing_out != NULL)
			*missing_out = missing;
		goto out;
	}
	rc = restore_finish(&rs, id, sha256, err, errlen);
	if (rc == 0 && rs.headfill < rs.headlen)
		rc = errf(err, errlen, "%s: shorter than its head", id);
out:
	*raw = rs.raw;
	free(rs.held);
	container_reader_free(rs.cr);
	decompressor_free(rs.dc);
	EVP_MD_CTX_free(rs.sha);
	return rc;
}
