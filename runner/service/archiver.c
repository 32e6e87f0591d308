/*
 * archiver: the WAL stream of the daemon.  See archiver.h.
 */
#define _GNU_SOURCE	/* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/memfile.h"
#include "common/util.h"
#include "engines/mysql.h"
#include "runner/binlog/bpitr.h"
#include "runner/binlog/bstream.h"
#include "runner/service/archiver.h"
#include "runner/stream/keys.h"
#include "runner/wal/archive.h"
#include "runner/wal/chain.h"
#include "runner/wal/pitr.h"
#include "runner/wal/receive.h"

#define BACKOFF_MAX	60

struct archiver {
	struct runner		*r;
	struct metrics		*m;
	struct location		*locs;
	struct keyring		*keys;
	size_t			 nlocs;
	struct wal_store_opts	 opts;
	char			 slot[64];
	char			*spool;
	const char		*kw[10];
	const char		*val[10];
	char			 port[8];
	pthread_t		 thread;
	int			 stop[2];
	uint64_t		 stored;	/* files this archiver stored */
	int			 binlog;	/* [mysql] binlog = archive, not WAL */
	struct binlog_stream	 bs;
};

void
archiver_slot_name(const struct runner *r, char *buf, size_t len)
{
	const char	*slot = config_get(r->engine_section, "slot");
	char		*p;

	if (slot != NULL) {
		strlcpy(buf, slot, len);
		return;
	}
	snprintf(buf, len, "kbackup_%s_%s", r->namespace_, r->name);
	for (p = buf; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	if (len > 64)
		buf[63] = '\0';
}

/* The segment after the newest the first location holds on tli, or 0. */
static uint64_t
next_segment(void *arg, uint32_t tli, uint64_t segsize)
{
	struct archiver		*a = arg;
	struct wal_archive	 ar;
	char			 err[KB_ERRLEN];
	uint64_t		 next = 0;
	size_t			 i;

	if (wal_archive_open(&a->locs[0], a->r->base, &a->keys[0], segsize, &ar, err,
	    sizeof(err)) == -1) {
		log_kv(LOGL_WARN, "the archive's newest segment not known", "error", err, NULL);
		return 0;
	}
	for (i = 0; i < ar.nsegs; i++)
		if (ar.v[i].n.tli == tli && ar.v[i].n.segno + 1 > next)
			next = ar.v[i].n.segno + 1;
	wal_archive_close(&ar);
	return next;
}

/* The scanned file at fd into every location. */
static int
store_all(struct archiver *a, int fd, const char *name, char *err, size_t errlen)
{
	struct walobj_head	h;
	struct wal_identity	id;
	char			*cache;
	size_t			i;
	int			same = 0, rc;

	if (wal_file_scan(fd, name, &h, NULL, err, errlen) == -1)
		goto fail;
	for (i = 0; i < a->nlocs; i++) {
		/* Each segment, as wal-push: a store gone between two is no new archive. */
		if (h.kind == PG_WAL_SEGMENT) {
			id.sysid = h.sysid;
			id.segsize = h.size;
			cache = wal_identity_cache(a->r->state_dir);
			rc = wal_identity_check(&a->locs[i], a->r->base, &id, cache, err, errlen);
			free(cache);
			if (rc == -1)
				goto fail;
		}
		if (wal_store(&a->locs[i], a->r->base, &a->keys[i], fd, &h, &a->opts, &same,
		    err, errlen) == -1)
			goto fail;
	}
	metrics_wal_archived(a->m, time(NULL));
	a->stored++;
	log_kv(LOGL_INFO, same ? "already archived, with the same content" : "archived",
	    "file", name, NULL);
	return 0;
fail:
	metrics_wal_failed(a->m);
	return errprefix(err, errlen, "archiving %s", name);
}

static int
segment(void *arg, const char *name, int fd, char *err, size_t errlen)
{
	return store_all(arg, fd, name, err, errlen);
}

static int
history(void *arg, const char *name, const char *text, size_t len, char *err,
    size_t errlen)
{
	int	fd, rc;

	if ((fd = memfile_scratch("kbackup-history", err, errlen)) == -1)
		return -1;
	if (write_all(fd, text, len) == -1) {
		close(fd);
		return errf(err, errlen, "%s: %s", name, strerror(errno));
	}
	rc = store_all(arg, fd, name, err, errlen);
	close(fd);
	return rc;
}

static void
progress(void *arg, uint64_t received, time_t pending)
{
	struct archiver	*a = arg;

	metrics_wal_pending(a->m, pending);
}

static void
binlog_progress(void *arg, const struct binlog_stream *bs)
{
	struct archiver	*a = arg;

	metrics_binlog(a->m, bs->newest_event, bs->synced, bs->stored);
}

/* Waits up to secs; 1 when told to stop. */
static int
pause_for(struct archiver *a, int secs)
{
	struct pollfd	pfd[2];
	nfds_t		n = 1;

	pfd[0].fd = a->stop[0];
	pfd[0].events = POLLIN;
	if (cancel_fd() != -1) {
		pfd[1].fd = cancel_fd();
		pfd[1].events = POLLIN;
		n = 2;
	}
	return poll(pfd, n, secs * 1000) > 0 || cancel_requested();
}

static void *
archiver_main(void *arg)
{
	struct archiver		*a = arg;
	struct wal_receiver	 w;
	char			 err[KB_ERRLEN], secs[16];
	int			 backoff = 1;
	uint64_t		 before;

	memset(&w, 0, sizeof(w));
	w.keywords = a->kw;
	w.values = a->val;
	w.slot = a->slot;
	w.spool = a->spool;
	w.next_segment = next_segment;
	w.segment = segment;
	w.history = history;
	w.progress = progress;
	w.arg = a;
	w.stop_fd = a->stop[0];
	for (;;) {
		before = a->stored + a->bs.stored;
		err[0] = '\0';
		/* 0: told to stop (or cancelled); -1: the connection or an upload failed. */
		if (a->binlog ? binlog_stream_session(&a->bs, err, sizeof(err)) == 0 :
		    wal_receive(&w, err, sizeof(err)) == 0)
			break;
		if (a->stored + a->bs.stored != before)
			backoff = 1;
		if (a->binlog)
			metrics_binlog_reconnect(a->m);
		snprintf(secs, sizeof(secs), "%d", backoff);
		log_kv(LOGL_ERROR, a->binlog ? "binary log archiving stopped, trying again" :
		    "WAL streaming stopped; the slot keeps the server's WAL, trying again",
		    "error", err, "seconds", secs, NULL);
		if (pause_for(a, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	return NULL;
}

/* Connection keywords of [postgres]: a physical replication connection. */
static void
conninfo(struct archiver *a)
{
	const struct config_section	*s = a->r->engine_section;
	const char			*keys[] = { "host", "user", "password", "sslmode" };
	size_t				 i, n = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_get(s, keys[i]) != NULL) {
			a->kw[n] = keys[i];
			a->val[n++] = config_get(s, keys[i]);
		}
	strlcpy(a->port, config_get(s, "port"), sizeof(a->port));
	a->kw[n] = "port";
	a->val[n++] = a->port;
	a->kw[n] = "replication";
	a->val[n++] = "true";
	a->kw[n] = "application_name";
	a->val[n++] = "kbackup";
	a->kw[n] = "connect_timeout";
	a->val[n++] = "30";
	a->kw[n] = NULL;
	a->val[n] = NULL;
}

static void
archiver_free(struct archiver *a)
{
	size_t	i;

	for (i = 0; i < a->nlocs; i++) {
		storage_close(a->locs[i].st);
		keyring_free(&a->keys[i]);
	}
	free(a->locs);
	free(a->keys);
	free(a->spool);
	if (a->stop[0] != -1)
		close(a->stop[0]);
	if (a->stop[1] != -1)
		close(a->stop[1]);
	free(a);
}

static int
open_locations(struct archiver *a, char *err, size_t errlen)
{
	const struct config_section	*s;
	struct location			*loc;
	size_t				 i;

	for (i = 0; (s = config_section_nth(a->r->cfg, "storage", i)) != NULL; i++) {
		a->locs = xreallocarray(a->locs, a->nlocs + 1, sizeof(*a->locs));
		a->keys = xreallocarray(a->keys, a->nlocs + 1, sizeof(*a->keys));
		loc = &a->locs[a->nlocs];
		memset(loc, 0, sizeof(*loc));
		memset(&a->keys[a->nlocs], 0, sizeof(a->keys[a->nlocs]));
		loc->section = s;
		if (storage_open(s, &loc->st, err, errlen) == -1)
			return -1;
		a->nlocs++;
		loc->st->ops->describe(loc->st, loc->desc, sizeof(loc->desc));
		if (keyring_load(s, &a->keys[a->nlocs - 1], err, errlen) == -1)
			return -1;
	}
	return a->nlocs > 0 ? 0 : errf(err, errlen, "no storage location");
}

static int
streams_wal(const struct runner *r)
{
	return pitr_on(r) && strcmp(config_get(r->engine_section, "wal_method"), "stream") == 0;
}

int
archiver_start(struct archiver **ap, struct runner *r, struct metrics *m, char *err,
    size_t errlen)
{
	struct archiver	*a;

	*ap = NULL;
	if (!streams_wal(r) && !binlog_pitr_on(r))
		return 0;
	a = xcalloc(1, sizeof(*a));
	a->binlog = binlog_pitr_on(r);
	a->r = r;
	a->m = m;
	a->stop[0] = a->stop[1] = -1;
	archiver_slot_name(r, a->slot, sizeof(a->slot));
	a->spool = path_join(r->tmpdir, "wal-stream.spool");
	wal_store_opts(r, &a->opts);
	conninfo(a);
	if (pipe2(a->stop, O_CLOEXEC) == -1) {
		archiver_free(a);
		return errf(err, errlen, "pipe: %s", strerror(errno));
	}
	if (mkdir_p(r->tmpdir, 0700, err, errlen) == -1 || open_locations(a, err, errlen) == -1) {
		archiver_free(a);
		return errprefix(err, errlen, "WAL stream");
	}
	a->bs.r = r;
	a->bs.locs = a->locs;
	a->bs.keys = a->keys;
	a->bs.nlocs = a->nlocs;
	a->bs.opts = &a->opts;
	a->bs.stop_fd = a->stop[0];
	a->bs.progress = binlog_progress;
	a->bs.arg = a;
	if (pthread_create(&a->thread, NULL, archiver_main, a) != 0) {
		archiver_free(a);
		return errf(err, errlen, "WAL stream: cannot start a thread");
	}
	if (!a->binlog)
		log_kv(LOGL_INFO, "WAL streaming into the archive", "slot", a->slot, NULL);
	*ap = a;
	return 0;
}

void
archiver_stop(struct archiver *a)
{
	if (a == NULL)
		return;
	if (write(a->stop[1], "x", 1) == -1)
		log_kv(LOGL_WARN, "WAL stream: cannot signal the stop", NULL);
	pthread_join(a->thread, NULL);
	archiver_free(a);
}
