/*
 * bstream: a session of binary log archiving.  See bstream.h.
 */
#include <sys/stat.h>

#include <signal.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "engines/my_binlog.h"
#include "engines/mysql.h"
#include "runner/binlog/barchive.h"
#include "runner/binlog/bhandover.h"
#include "runner/binlog/bstream.h"

#define PIECE_MIN	(4 * 1024 * 1024)
#define PIECE_MAX	(1024 * 1024 * 1024)	/* the largest event the server writes */
#define TICK_MS		1000

/* A file of this session: how much of it the archive holds. */
struct bs_file {
	char		 name[BOBJ_NAME_MAX];
	uint64_t	 stored;
	int		 closed;
	uint32_t	 server;	/* its writer's id, once read */
};

/*
 * What the server must show before a resumed session appends anything: that
 * it still writes the log the archive holds (kbackup-format(5)).
 */
struct resume_expect {
	int		 pending;
	uint32_t	 server;	/* the newest piece's writer; 0: not recorded */
	int		 bytes;		/* resuming in the newest piece's file: */
	uint64_t	 off;		/* its offset, size and SHA-256 */
	uint64_t	 size;
	unsigned char	 sha256[32];
	uint64_t	 have;		/* the server's size of the file (SHOW BINARY LOGS) */
};

struct session {
	struct binlog_stream	*s;
	struct engine_job	 job;
	struct child		 child;
	char			*dir;
	struct bs_file		*files;
	size_t			 nfiles;
	time_t			 flushed;
	int64_t			 every;
	struct resume_expect	 expect;
	uint32_t		 hist;		/* the history stored into */
	struct binlog_handover	 ho;		/* needed: its link not stored yet */
};

static struct bs_file *
file_of(struct session *ss, const char *name)
{
	size_t	i;

	for (i = 0; i < ss->nfiles; i++)
		if (strcmp(ss->files[i].name, name) == 0)
			return &ss->files[i];
	ss->files = xreallocarray(ss->files, ss->nfiles + 1, sizeof(*ss->files));
	memset(&ss->files[ss->nfiles], 0, sizeof(*ss->files));
	strlcpy(ss->files[ss->nfiles].name, name, sizeof(ss->files->name));
	return &ss->files[ss->nfiles++];
}

static int
store_everywhere(struct session *ss, struct bs_file *f, const unsigned char *buf,
    size_t len, int last, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < ss->s->nlocs; i++)
		if (binlog_store_piece(&ss->s->locs[i], &ss->s->keys[i], ss->s->r->base,
		    ss->hist, f->name, f->server, f->stored, buf, len, last, ss->s->newest_event, ss->s->opts, err,
		    errlen) == -1)
			return -1;
	ss->s->stored++;
	log_kv(LOGL_DEBUG, "binary log piece archived", "file", f->name, NULL);
	return 0;
}

/* Reads up to cap bytes of fd from off; *got what there was. */
static int
read_at(int fd, unsigned char *buf, size_t cap, uint64_t off, size_t *got, char *err,
    size_t errlen)
{
	ssize_t	n;

	*got = 0;
	if ((n = pread_full(fd, buf, cap, (off_t)off)) == -1)
		return errf(err, errlen, "reading: %s", strerror(errno));
	*got = (size_t)n;
	return 0;
}

/* f's writer from its first bytes: 1 once known, 0 not written yet. */
static int
file_server(struct bs_file *f, int fd, char *err, size_t errlen)
{
	unsigned char	start[BOBJ_MAGIC_LEN + BOBJ_EV_HEADER];
	size_t		got;
	int		rc;

	if (f->server != 0)
		return 1;
	if (read_at(fd, start, sizeof(start), 0, &got, err, errlen) == -1)
		return -1;
	if ((rc = bobj_file_server(start, got, &f->server)) == -1)
		return errf(err, errlen, "%s is not a binary log file (no format description "
		    "event at its start)", f->name);
	return rc;
}

/*
 * The first file of a resumed session, before anything of it is stored:
 * 1 when the server writes the log the archive holds, 0 when that is not
 * known yet (too few bytes), -1 (err says which check failed) when not.
 */
static int
resume_check(struct session *ss, struct bs_file *f, int fd, int last, char *err,
    size_t errlen)
{
	struct resume_expect	*x = &ss->expect;
	struct stat		 st;
	unsigned char		 md[32];

	if (x->server != 0 && f->server != x->server)
		return errf(err, errlen, "%s is written by server id %" PRIu32 ", the archive's "
		    "newest piece by server id %" PRIu32 ": the server changed as the session "
		    "started (a failover?). Nothing stored: the next session reads which "
		    "server it reaches", f->name, f->server, x->server);
	if (x->bytes && x->have < x->off + x->size)
		return errf(err, errlen, "%s on the server is not the file the archive holds: it "
		    "has %" PRIu64 " bytes, the archive %" PRIu64 " (RESET MASTER, or another "
		    "server with the same file names?). Nothing stored: the archive keeps one "
		    "file under one name", f->name, x->have, x->off + x->size);
	if (x->bytes) {
		if (fstat(fd, &st) == -1)
			return errf(err, errlen, "%s: %s", f->name, strerror(errno));
		if ((uint64_t)st.st_size < x->off + x->size && !last)
			return 0;	/* not all fetched yet: the server has them */
		if ((uint64_t)st.st_size < x->off + x->size ||
		    binlog_sha256_range(fd, (off_t)x->off, x->size, md, err, errlen) == -1 ||
		    memcmp(md, x->sha256, sizeof(md)) != 0)
			return errf(err, errlen, "%s on the server is not the file the archive "
			    "holds: its bytes %" PRIu64 "-%" PRIu64 " differ from the archived ones "
			    "(RESET MASTER, or another server with the same file names?). Nothing "
			    "stored: the archive keeps one file under one name", f->name, x->off,
			    x->off + x->size);
	}
	x->pending = 0;
	log_kv(LOGL_DEBUG, "the server writes the binary log the archive holds", "file",
	    f->name, NULL);
	return 1;
}

/*
 * Another server than the archive's writer (a failover, bhandover.h): 1
 * once file f shows where it goes on from the archive's state and the link
 * of the new history is stored everywhere; 0 while it does not show it yet
 * (f is skipped when it is complete: the archive holds all of it); -1 when
 * its log is not the archive's.
 */
static int
handover_enter(struct session *ss, struct bs_file *f, int fd, int last, char *err,
    size_t errlen)
{
	struct binlog_link	*l = &ss->ho.link;
	struct stat		 st;
	char			 at[BOBJ_NAME_MAX + 24], id[16];
	size_t			 i;
	int			 rc;

	if (fstat(fd, &st) == -1)
		return errf(err, errlen, "%s: %s", f->name, strerror(errno));
	rc = blink_continuation(fd, (uint64_t)st.st_size, &ss->ho.state, &l->start, err,
	    errlen);
	if (rc == -1)
		return errprefix(err, errlen, "%s of server id %" PRIu32 " does not continue the "
		    "archive (its state there: %s)", f->name, ss->ho.server, l->gtid);
	if (rc == 0) {
		f->closed = last;	/* the archive holds it all */
		return 0;
	}
	strlcpy(l->file, f->name, sizeof(l->file));
	for (i = 0; i < ss->s->nlocs; i++)
		if (blink_store(&ss->s->locs[i], &ss->s->keys[i], ss->s->r->base, l, err,
		    errlen) == -1)
			return -1;
	ss->ho.needed = 0;
	snprintf(at, sizeof(at), "%s:%" PRIu64, l->file, l->start);
	snprintf(id, sizeof(id), "%" PRIu32, l->server);
	log_kv(LOGL_WARN, "binary log archiving goes on from another server (a failover): a "
	    "new history", "server_id", id, "from", at, "gtid", l->gtid, NULL);
	return 1;
}

/*
 * Stores the whole events of local file f past what is stored; last: the
 * server has moved on, the file is complete.
 */
static int
store_file(struct session *ss, struct bs_file *f, int last, char *err, size_t errlen)
{
	struct bobj_head	 h;
	unsigned char		*buf = NULL;
	char			*path;
	size_t			 cap = PIECE_MIN, got, whole;
	int			 fd, rc = 0, any;

	if (f->closed)
		return 0;
	path = path_join(ss->dir, f->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return errf(err, errlen, "%s: %s", f->name, strerror(errno));
	if ((rc = file_server(f, fd, err, errlen)) == 1 && ss->expect.pending)
		rc = resume_check(ss, f, fd, last, err, errlen);
	if (rc == 1 && ss->ho.needed)
		rc = handover_enter(ss, f, fd, last, err, errlen);
	if (rc != 1) {
		close(fd);
		return rc == 0 && last && !f->closed ? errf(err, errlen, "%s ends before its "
		    "format description event", f->name) : rc == -1 ? -1 : 0;
	}
	buf = xmalloc(cap);
	for (;;) {
		if ((rc = read_at(fd, buf, cap, f->stored, &got, err, errlen)) == -1)
			break;
		memset(&h, 0, sizeof(h));
		if ((rc = bobj_events(buf, got, f->stored, &whole, &h, err, errlen)) == -1)
			break;
		if (whole == 0 && got == cap && cap < PIECE_MAX) {
			cap *= 2;	/* an event larger than a piece */
			buf = xreallocarray(buf, cap, 1);
			continue;
		}
		any = h.nevents > 0;
		if (!any && !(last && whole == got))
			break;
		if ((rc = store_everywhere(ss, f, buf, whole, last && whole == got && got < cap,
		    err, errlen)) == -1)
			break;
		if (h.last > ss->s->newest_event)
			ss->s->newest_event = h.last;
		f->stored += whole;
		if (last && whole == got && got < cap) {
			f->closed = 1;
			break;
		}
	}
	if (rc == 0 && last && !f->closed)
		rc = errf(err, errlen, "%s ends inside an event at offset %" PRIu64, f->name,
		    f->stored);
	free(buf);
	close(fd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	char		ba[BOBJ_NAME_MAX], bb[BOBJ_NAME_MAX];
	uint32_t	sa = 0, sb = 0;

	my_binlog_name_parse(*(char *const *)a, ba, sizeof(ba), &sa);
	my_binlog_name_parse(*(char *const *)b, bb, sizeof(bb), &sb);
	return sa < sb ? -1 : sa > sb;
}

/* The binary log files in the directory, oldest first. */
static char **
local_files(struct session *ss, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL, base[BOBJ_NAME_MAX];
	uint32_t	 seq;

	*n = 0;
	if ((d = opendir(ss->dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (my_binlog_name_parse(de->d_name, base, sizeof(base), &seq) == -1)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v;
}

/* Every file but the newest is complete: stored and removed; the newest when due. */
static int
sweep(struct session *ss, int flush, char *err, size_t errlen)
{
	char	**v, *path;
	size_t	  n, i;
	int	  rc = 0;

	v = local_files(ss, &n);
	for (i = 0; i < n && rc == 0; i++) {
		if (i + 1 < n) {
			rc = store_file(ss, file_of(ss, v[i]), 1, err, errlen);
			if (rc == 0) {
				path = path_join(ss->dir, v[i]);
				unlink(path);
				free(path);
				log_kv(LOGL_INFO, file_of(ss, v[i])->stored > 0 ? "binary log "
				    "archived" : "binary log held by the archive already", "file",
				    v[i], NULL);
			}
		} else if (flush)
			rc = store_file(ss, file_of(ss, v[i]), 0, err, errlen);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	if (rc == 0 && flush) {
		ss->flushed = time(NULL);
		ss->s->synced = ss->flushed;
		if (ss->s->progress != NULL)
			ss->s->progress(ss->s->arg, ss->s);
	}
	return rc;
}

/*
 * mariadb-binlog outlives a runner killed with SIGKILL and would write on
 * into the directory: its pid and start time are kept beside it, and the
 * next session ends it first (the start time tells a reused pid apart).
 */
static char *
pidfile_path(struct session *ss)
{
	return xasprintf("%s/binlog-stream.pid", ss->s->r->state_dir);
}

static void
orphan_end(struct session *ss)
{
	unsigned long long	 ticks, now;
	long			 pid;
	int			 i;
	char			*path = pidfile_path(ss);
	FILE			*f;

	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld %llu", &pid, &ticks) == 2 && pid > 1 &&
		    proc_start_ticks((pid_t)pid, &now) == 0 && now == ticks) {
			log_kv(LOGL_WARN, "ending the mariadb-binlog a killed runner left", NULL);
			kill((pid_t)pid, SIGKILL);
			/* Gone (or a zombie for init, up to 1 s) before the files go. */
			for (i = 0; i < 50 && proc_start_ticks((pid_t)pid, &now) == 0 &&
			    now == ticks; i++)
				poll(NULL, 0, 20);
		}
		fclose(f);
	}
	unlink(path);
	free(path);
}

static void
pid_keep(struct session *ss)
{
	unsigned long long	 ticks;
	char			*path = pidfile_path(ss), line[64], err[KB_ERRLEN];

	if (proc_start_ticks(ss->child.pid, &ticks) == 0) {
		snprintf(line, sizeof(line), "%ld %llu\n", (long)ss->child.pid, ticks);
		if (write_file_atomic(path, line, strlen(line), 0600, err, sizeof(err)) == -1)
			log_kv(LOGL_WARN, "binary log archiving: pid file", "error", err, NULL);
	}
	free(path);
}

/* What the server must show first, after the newest piece h (in_file: resuming in its file). */
static void
expect_from(struct session *ss, const struct bobj_head *h, int in_file)
{
	struct resume_expect	*x = &ss->expect;

	memset(x, 0, sizeof(*x));
	x->pending = 1;
	x->server = h->server;
	x->bytes = in_file;
	x->off = h->offset;
	x->size = h->size;
	memcpy(x->sha256, h->sha256, sizeof(x->sha256));
}

/*
 * The server's file name (of size bytes) where the archive needs want (""
 * when empty) next, from its end: -1 when its log starts again; *end 0 when
 * the server purged want unarchived (a gap).
 */
static int
server_continues(struct session *ss, const char *want, const char *name, uint64_t size,
    uint64_t *end, char *err, size_t errlen)
{
	ss->expect.have = size;
	if (want[0] == '\0' || strcmp(name, want) == 0)
		return 0;
	if (my_binlog_name_order(name, want) != 1)
		return errf(err, errlen, "the server's oldest binary log is %s, not after %s, the "
		    "one the archive needs next: its log starts again (RESET MASTER, or another "
		    "server?). Nothing stored: the archive keeps one file under one name", name,
		    want);
	/* Purged before it was archived: a gap, which verify names. */
	log_kv(LOGL_ERROR, "the server no longer has the binary log the archive needs next: "
	    "archiving from its oldest one; the archive has a gap", "needed", want, "from",
	    name, NULL);
	*end = 0;
	ss->expect.bytes = 0;
	return 0;
}

/*
 * Where the newest piece i of the session's history leaves off: want, the
 * file to go on in (its offset *end), and what the server must show first.
 */
static int
resume_in(struct session *ss, struct binlog_archive *ar, size_t i, char *want,
    size_t wantlen, uint64_t *end, char *err, size_t errlen)
{
	struct bobj_head	h;
	int			last = 0;

	if (ar->v[i].last && binlog_next_name(ar->v[i].name, want, wantlen) == -1)
		return errf(err, errlen, "no file follows %s", ar->v[i].name);
	if (!ar->v[i].last) {
		strlcpy(want, ar->v[i].name, wantlen);
		*end = binlog_archive_end(ar, ss->hist, want, &last);
	}
	if (binlog_piece_head(ar, i, &h, err, errlen) == -1)
		return -1;
	if (h.last > ss->s->newest_event)
		ss->s->newest_event = h.last;
	expect_from(ss, &h, !ar->v[i].last);
	return 0;
}

/*
 * Where the first location's archive ends: the file to start from and its
 * stored end; or, on another server than its writer's, the server's oldest
 * file, read until it shows where it continues the archive.
 */
static int
resume_point(struct session *ss, char *err, size_t errlen)
{
	struct binlog_archive		 ar;
	const struct binlog_link	*l;
	struct bs_file			*f;
	char				 name[BOBJ_NAME_MAX], want[BOBJ_NAME_MAX];
	size_t				 i;
	uint64_t			 end = 0, size;
	int				 rc = 0;

	if (binlog_archive_open(&ss->s->locs[0], ss->s->r->base, &ss->s->keys[0], &ar, err,
	    errlen) == -1)
		return -1;
	want[0] = '\0';
	if (binlog_handover_plan(&ar, &ss->job, &ss->ho, err, errlen) == -1)
		rc = -1;
	ss->hist = ss->ho.needed ? ss->ho.hist + 1 : ss->ho.hist;
	i = binlog_archive_newest(&ar);
	if (rc == 0 && !ss->ho.needed && i != SIZE_MAX && ar.v[i].hist == ss->hist)
		rc = resume_in(ss, &ar, i, want, sizeof(want), &end, err, errlen);
	else if (rc == 0 && !ss->ho.needed && (l = binlog_link_of(&ar, ss->hist)) != NULL) {
		strlcpy(want, l->file, sizeof(want));	/* a link stored, no piece yet */
		ss->expect.pending = 1;
		ss->expect.server = l->server;
	}
	binlog_archive_close(&ar);
	if (rc == -1 || mysql_binlog_start(&ss->job, want[0] != '\0' ? want : NULL, name,
	    sizeof(name), &size, err, errlen) == -1)
		return -1;
	if (!ss->ho.needed && server_continues(ss, want, name, size, &end, err, errlen) == -1)
		return -1;
	f = file_of(ss, name);
	f->stored = end;
	return 0;
}

static int
wait_tick(struct session *ss, int *exited, int *stop)
{
	struct pollfd	pfd[3];
	nfds_t		n = 2;
	char		buf[512];

	pfd[0].fd = ss->s->stop_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ss->child.out_fd;
	pfd[1].events = POLLIN;
	if (cancel_fd() != -1) {
		pfd[2].fd = cancel_fd();
		pfd[2].events = POLLIN;
		n = 3;
	}
	if (poll(pfd, n, TICK_MS) == -1 && errno != EINTR)
		return -1;
	*stop = pfd[0].revents != 0 || cancel_requested();
	if (pfd[1].revents != 0 && read(ss->child.out_fd, buf, sizeof(buf)) <= 0)
		*exited = 1;
	return 0;
}

static int
run(struct session *ss, char *err, size_t errlen)
{
	char	 werr[KB_ERRLEN], *path;
	int	 exited = 0, stop = 0, rc = 0;

	if (mkdir_p(ss->dir, 0700, err, errlen) == -1)
		return -1;
	orphan_end(ss);
	dir_unlink_files(ss->dir);
	if (resume_point(ss, err, errlen) == -1)
		return -1;
	if (mysql_binlog_stream_spawn(&ss->job, ss->files[0].name, ss->dir, &ss->child, err,
	    errlen) == -1)
		return -1;
	mysql_binlog_done(&ss->job);	/* the child has the option file; ours goes */
	pid_keep(ss);
	log_kv(LOGL_INFO, "binary log archiving", "from", ss->files[0].name, NULL);
	ss->flushed = time(NULL);
	while (rc == 0 && !exited && !stop) {
		if (wait_tick(ss, &exited, &stop) == -1) {
			rc = errf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		rc = sweep(ss, stop || exited || time(NULL) - ss->flushed >= ss->every, err,
		    errlen);
	}
	if (!exited)
		child_kill(&ss->child);
	else if (child_wait(&ss->child, werr, sizeof(werr)) == -1 && rc == 0)
		rc = errf(err, errlen, "%s", werr);
	else if (rc == 0)
		rc = errf(err, errlen, "mariadb-binlog ended");
	path = pidfile_path(ss);
	unlink(path);
	free(path);
	return rc == 0 && stop ? 0 : -1;
}

int
binlog_stream_session(struct binlog_stream *s, char *err, size_t errlen)
{
	struct session	ss;
	int		rc;

	memset(&ss, 0, sizeof(ss));
	ss.s = s;
	ss.dir = xasprintf("%s/binlog-stream/", s->r->tmpdir);
	ss.every = config_get_duration(s->r->engine_section, "binlog_flush");
	runner_engine_job(s->r, &ss.job, NULL);
	rc = run(&ss, err, errlen);
	mysql_binlog_done(&ss.job);
	free(ss.files);
	free(ss.dir);
	return rc;
}
