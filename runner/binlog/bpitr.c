/*
 * bpitr: restore --at and verify for MariaDB/MySQL with binary log
 * archiving.  See bpitr.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/timeparse.h"
#include "common/memfile.h"
#include "common/util.h"
#include "engines/mysql.h"
#include "runner/binlog/bgtid.h"
#include "runner/binlog/bhandover.h"
#include "runner/binlog/bpitr.h"

#define COPY_CHUNK	(128 * 1024)
/* target_text()'s room: a position and the GTID position it stands for. */
#define TARGET_TEXT	(BOBJ_NAME_MAX + MY_BINLOG_GTID_MAX + 48)

static int	fetch_files(struct binlog_plan *, const char *, char *, size_t);
static int	walk_file(struct binlog_plan *, const char *, const char *, size_t, char *,
		    size_t);
static void	remove_dir(const char *);

int
binlog_pitr_on(const struct runner *r)
{
	return strcmp(r->engine->desc->name, "mysql") == 0 &&
	    mysql_binlog_archiving(r->engine_section);
}

/* The window text: "any time from A to B", or why there is none. */
static void
window_text(time_t from, const struct binlog_run *run, char *buf, size_t len)
{
	char	a[21], b[21];

	time_to_rfc3339(from, a);
	if (run->last_event - 1 < from) {
		snprintf(buf, len, "no time yet (no archived event after its end, %s)", a);
		return;
	}
	time_to_rfc3339(run->last_event - 1, b);
	snprintf(buf, len, "any time from %s to %s", a, b);
}

/* What one dump can be replayed to. */
struct dump_window {
	struct my_binpos	 pos;
	int			 ok;		/* its file is in the archive */
	int			 pending;	/* its file is newer than the archive's end */
	char			 why[KB_ERRLEN];
	struct binlog_run	 run;
	const char		*to_file;
	time_t			 from;		/* where its window starts */
};

/*
 * Where a dump's window starts: the server's clock once it was over, the
 * clock of the binary log's events (a dump before server_time was recorded:
 * the runner's, the manifest's finished time).
 */
static time_t
dump_from(const struct my_binpos *pos, time_t finished)
{
	return pos->server_time != 0 ? pos->server_time : finished;
}

/*
 * 1 when file is newer than every archived one: the archive has not got
 * there yet (the archiver lags or is stopped, which its lag metric and
 * alert tell), which is no gap -- nothing the dump needs is missing
 * between its position and the archive's end.
 */
static int	position_before(const struct my_binpos *, const struct my_binpos *);

static int
archive_behind(const struct binlog_archive *ar, uint32_t hist, const char *file)
{
	struct my_binpos	a, b;

	if (hist != binlog_archive_hist(ar))
		return 0;
	if (ar->n == 0 || ar->v[ar->n - 1].hist != hist)
		return 1;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	strlcpy(a.file, ar->v[ar->n - 1].name, sizeof(a.file));
	strlcpy(b.file, file, sizeof(b.file));
	return position_before(&a, &b) == 1 && strcmp(a.file, b.file) != 0;
}

/*
 * The run a dump at pos replays (its history in *hist, 0 when the archive
 * holds no log of the dump's server): -1 (err says why) when it cannot be
 * had, or when the file the run starts with was written by another server
 * than the dump's (its pieces record their writer).
 */
static int
dump_run(struct binlog_archive *ar, const struct my_binpos *pos, const char *id,
    uint32_t *hist, struct binlog_run *run, char *missing, size_t missinglen, char *err,
    size_t errlen)
{
	struct bobj_head	h;

	if ((*hist = binlog_dump_hist(ar, pos->file, pos->server)) == 0)
		return errf(err, errlen, "backup %s was taken on server id %" PRIu32 ", whose "
		    "binary log the archive does not hold", id, pos->server);
	if (binlog_run_from(ar, *hist, pos->file, run, missing, missinglen, err,
	    errlen) == -1 || binlog_piece_head(ar, run->first, &h, err, errlen) == -1)
		return -1;
	if (h.server != 0 && pos->server != 0 && h.server != pos->server)
		return errf(err, errlen, "backup %s was taken on server id %" PRIu32 ", and the "
		    "archive's %s (%s) is written by server id %" PRIu32, id, pos->server,
		    pos->file, ar->v[run->first].key, h.server);
	return 0;
}

int
binlog_dump_serves(const struct backup_record *rec, time_t at)
{
	struct my_binpos	pos;
	char			err[KB_ERRLEN];

	if (my_binpos_from_details(rec->details, &pos, err, sizeof(err)) != 1)
		return 1;
	return dump_from(&pos, rec->finished) <= at;
}

/* 0 when e records no binary log position; else 1 with w filled. */
static int
dump_window(struct binlog_archive *ar, const struct catalog_entry *e,
    struct dump_window *w)
{
	char		missing[BINLOG_KEY_MAX];
	uint32_t	hist;

	memset(w, 0, sizeof(*w));
	if (e->state != CATALOG_OK || !e->have_rec || e->future ||
	    my_binpos_from_details(e->rec.details, &w->pos, w->why, sizeof(w->why)) != 1)
		return 0;
	w->from = dump_from(&w->pos, e->rec.finished);
	w->ok = dump_run(ar, &w->pos, e->id, &hist, &w->run, missing, sizeof(missing),
	    w->why, sizeof(w->why)) == 0;
	if (w->ok)
		w->to_file = ar->v[w->run.end - 1].name;
	else
		w->pending = archive_behind(ar, hist, w->pos.file);
	return 1;
}

static int
open_archive(struct runner *r, struct location *loc, struct keyring *kr,
    struct binlog_archive *ar, char *err, size_t errlen)
{
	if (keyring_load(loc->section, kr, err, errlen) == -1)
		return -1;
	if (binlog_archive_open(loc, r->base, kr, ar, err, errlen) == -1) {
		keyring_free(kr);
		return -1;
	}
	return 0;
}

/* verify: every piece read back, frame by frame; those that fail, named. */
static size_t
pieces_read(struct binlog_archive *ar, FILE *out)
{
	char	err[KB_ERRLEN];
	size_t	i, bad = 0;

	for (i = 0; i < ar->n; i++) {
		if (binlog_fetch_piece(ar, i, -1, NULL, err, sizeof(err)) == -1) {
			fprintf(out, "binlog: %s FAILED %s\n", ar->v[i].key, err);
			bad++;
		}
		if (cancel_requested())
			return bad + 1;
	}
	fprintf(out, "binary log archive: %zu of %zu pieces read back whole\n", ar->n - bad,
	    ar->n);
	return bad;
}

size_t
binlog_report(struct runner *r, struct location *loc, const struct catalog *c, FILE *out,
    int read)
{
	struct binlog_archive	 ar;
	struct dump_window	 w;
	struct keyring		 kr;
	char			 err[KB_ERRLEN], text[128];
	size_t			 i, problems = 0, dumps = 0;

	if (open_archive(r, loc, &kr, &ar, err, sizeof(err)) == -1) {
		fprintf(out, "binary log archive: FAILED %s\n", err);
		return 1;
	}
	fprintf(out, "binary log archive: %zu piece%s", ar.n, ar.n == 1 ? "" : "s");
	if (ar.n > 0)
		fprintf(out, ", %s to %s", ar.v[0].name, ar.v[ar.n - 1].name);
	fprintf(out, "\n");
	for (i = 0; i < ar.nlinks; i++)
		fprintf(out, "binlog: history %" PRIu32 ": server id %" PRIu32 " from %s:%" PRIu64
		    ", after server id %" PRIu32 "'s %s:%" PRIu64 " (GTID %s)\n",
		    ar.links[i].hist, ar.links[i].server, ar.links[i].file, ar.links[i].start,
		    ar.links[i].parent_server, ar.links[i].parent_file, ar.links[i].parent_end,
		    ar.links[i].gtid[0] != '\0' ? ar.links[i].gtid : "none");
	for (i = 0; i < c->n; i++) {
		if (!dump_window(&ar, &c->v[i], &w))
			continue;
		dumps++;
		if (!w.ok && w.pending) {
			fprintf(out, "binlog: backup %s (from %s:%" PRIu64 "): its binary log "
			    "is not archived yet; restorable to its own end only\n", c->v[i].id,
			    w.pos.file, w.pos.position);
			continue;
		}
		if (!w.ok) {
			fprintf(out, "binlog: backup %s cannot be replayed: %s\n", c->v[i].id,
			    w.why);
			problems++;
			continue;
		}
		window_text(w.from, &w.run, text, sizeof(text));
		fprintf(out, "binlog: backup %s (from %s:%" PRIu64 "): %s, to %s%s%s%s\n",
		    c->v[i].id, w.pos.file, w.pos.position, text, w.to_file,
		    w.run.gap[0] != '\0' ? "; ends at a gap: " : "", w.run.gap,
		    w.run.gap[0] != '\0' ? " is missing" : "");
		problems += w.run.gap[0] != '\0';
	}
	if (dumps == 0)
		fprintf(out, "binlog: no backup records a binary log position\n");
	if (read)
		problems += pieces_read(&ar, out);
	fflush(out);
	binlog_archive_close(&ar);
	keyring_free(&kr);
	return problems;
}

int
binlog_check_server(struct runner *r, struct location *loc, FILE *out)
{
	struct binlog_archive	 ar;
	struct binlog_handover	 ho;
	struct engine_job	 job;
	struct keyring		 kr;
	char			 err[KB_ERRLEN];
	size_t			 i;
	int			 rc = 0;

	if (open_archive(r, loc, &kr, &ar, err, sizeof(err)) == -1) {
		fprintf(out, "binary log archive: FAILED %s\n", err);
		return -1;
	}
	runner_engine_job(r, &job, NULL);
	if ((i = binlog_archive_newest(&ar)) == SIZE_MAX)
		fprintf(out, "binary log archive: empty\n");
	else if (binlog_handover_plan(&ar, &job, &ho, err, sizeof(err)) == -1) {
		fprintf(out, "binary log archive: FAILED %s (kbackup-runner(8), \"Failover\")\n",
		    err);
		rc = -1;
	} else if (ho.needed)
		fprintf(out, "binary log archive: ok, ends in %s of server id %" PRIu32 "; this "
		    "server (server id %" PRIu32 ") has its transactions up to GTID %s, and the "
		    "archiving goes on from it (a failover)\n", ar.v[i].name, ho.writer,
		    ho.server, ho.link.gtid[0] != '\0' ? ho.link.gtid : "(none)");
	else
		fprintf(out, "binary log archive: ok, ends in %s, written by %s\n", ar.v[i].name,
		    ho.writer != 0 ? "this server" : "a server it does not record");
	mysql_binlog_done(&job);
	binlog_archive_close(&ar);
	keyring_free(&kr);
	return rc;
}

json_t *
binlog_report_json(struct runner *r, struct location *loc, const struct catalog *c)
{
	struct binlog_archive	 ar;
	struct dump_window	 w;
	struct keyring		 kr;
	char			 err[KB_ERRLEN], from[21], to[21], start[BOBJ_NAME_MAX + 24];
	json_t			*o = json_object();
	size_t			 i;

	if (open_archive(r, loc, &kr, &ar, err, sizeof(err)) == -1)
		return o;
	for (i = 0; i < c->n; i++) {
		if (!dump_window(&ar, &c->v[i], &w))
			continue;
		snprintf(start, sizeof(start), "%s:%" PRIu64, w.pos.file, w.pos.position);
		if (!w.ok || w.run.last_event - 1 < w.from) {
			json_object_set_new(o, c->v[i].id, json_pack("{s:b, s:s, s:s}",
			    "restorable", 0, "binlog_from", start, "why", w.ok || w.pending ?
			    "no archived event after its end yet" : w.why));
			continue;
		}
		time_to_rfc3339(w.from, from);
		time_to_rfc3339(w.run.last_event - 1, to);
		json_object_set_new(o, c->v[i].id, json_pack("{s:b, s:s, s:s, s:s, s:s?}",
		    "restorable", 1, "binlog_from", start, "recoverable_from", from,
		    "recoverable_to", to, "gap", w.run.gap[0] != '\0' ? w.run.gap : NULL));
	}
	binlog_archive_close(&ar);
	keyring_free(&kr);
	return o;
}

/* Why --at cannot be had along the run from a dump's window start, or 0 when it can. */
static int
plan_check(const struct binlog_plan *p, time_t from, char *err, size_t errlen)
{
	char	when[21], to[21], text[128];

	time_to_rfc3339(p->at, when);
	time_to_rfc3339(p->run.last_event - 1, to);
	if (p->at >= from && p->at < p->run.last_event)
		return 0;
	window_text(from, &p->run, text, sizeof(text));
	if (p->run.gap[0] != '\0')
		return errf(err, errlen, "the binary logs of backup %s reach only to %s: %s is "
		    "missing from the archive, so %s cannot be restored (%s)", p->id, to,
		    p->run.gap, when, text);
	return errf(err, errlen, "%s is outside what backup %s and the archived binary logs "
	    "can restore: %s", when, p->id, text);
}

/* FILE:POS into p->stop; -1 when it is not one. */
static int
position_parse(const char *s, struct my_binpos *stop)
{
	const char	*colon = strrchr(s, ':'), *errstr;
	char		 base[BOBJ_NAME_MAX];
	uint32_t	 seq;

	memset(stop, 0, sizeof(*stop));
	if (colon == NULL || (size_t)(colon - s) >= sizeof(stop->file))
		return -1;
	memcpy(stop->file, s, (size_t)(colon - s));
	stop->file[colon - s] = '\0';
	stop->position = (uint64_t)strtonum(colon + 1, BOBJ_MAGIC_LEN, INT64_MAX, &errstr);
	return errstr == NULL &&
	    my_binlog_name_parse(stop->file, base, sizeof(base), &seq) == 0 ? 0 : -1;
}

/* 1 if position a is before b (the same base name), 0 if not, -1 if they do not compare. */
static int
position_before(const struct my_binpos *a, const struct my_binpos *b)
{
	int	order = my_binlog_name_order(a->file, b->file);

	if (order == 2)
		return -1;
	return order < 0 || (order == 0 && a->position <= b->position);
}

/*
 * Why --position cannot be had along the run, or 0 when it can.  A file
 * name the run holds in the logs of two servers is the newer one's.
 */
static int
plan_check_position(struct binlog_plan *p, char *err, size_t errlen)
{
	const struct binlog_link	*l;
	uint64_t			 end = 0;
	uint32_t			 hist = 0;
	size_t				 i;
	int				 before;

	for (i = p->run.first; i < p->run.end; i++)
		if (strcmp(p->ar.v[i].name, p->stop.file) == 0) {
			hist = p->ar.v[i].hist;
			end = p->ar.v[i].to;
		}
	p->stop_hist = hist != 0 ? hist : p->hist;
	if (p->stop_hist == p->hist && (before = position_before(&p->pos, &p->stop)) != 1)
		return errf(err, errlen, "backup %s stands at %s:%" PRIu64 ", %s %s:%" PRIu64
		    ": name an older backup", p->id, p->pos.file, p->pos.position,
		    before == 0 ? "after" : "not comparable with", p->stop.file,
		    p->stop.position);
	if (hist != p->hist && (l = binlog_link_of(&p->ar, hist)) != NULL &&
	    strcmp(l->file, p->stop.file) == 0 && p->stop.position < l->start)
		return errf(err, errlen, "%s:%" PRIu64 " is before where server id %" PRIu32
		    "'s log continues the archive (%s:%" PRIu64 "): name a position of the log "
		    "before the failover, or after that one", p->stop.file, p->stop.position,
		    l->server, l->file, l->start);
	if (hist != 0 && end >= p->stop.position)
		return 0;
	if (p->run.gap[0] != '\0')
		return errf(err, errlen, "the binary logs of backup %s stop at a gap before "
		    "%s:%" PRIu64 ": %s is missing from the archive", p->id, p->stop.file,
		    p->stop.position, p->run.gap);
	return errf(err, errlen, "the archive does not reach %s:%" PRIu64 " yet (its newest "
	    "piece is of %s)", p->stop.file, p->stop.position, p->ar.v[p->run.end - 1].name);
}

/* The link the run crosses into history hist by, or NULL. */
static const struct binlog_link *
crossing(const struct binlog_plan *p, uint32_t hist)
{
	size_t	i;

	for (i = p->run.first; i < p->run.end; i++)
		if (p->ar.v[i].hist == hist)
			return binlog_link_of(&p->ar, hist);
	return NULL;
}

/*
 * A dump that stands past where its history hands over (it holds the
 * transaction the next history takes up again): where the replay enters
 * the next history instead, after the dump's GTID position, into p->enter.
 */
static int
plan_enter(struct binlog_plan *p, char *err, size_t errlen)
{
	const struct binlog_link	*l = crossing(p, p->hist + 1);
	struct my_gtid_pos		 dump;
	char				 why[KB_ERRLEN];
	uint64_t			 len;
	size_t				 i;
	int				 fd, rc;

	if (l == NULL || strcmp(l->parent_file, p->pos.file) != 0 ||
	    p->pos.position <= l->parent_end)
		return 0;
	if (my_gtid_pos_parse(p->pos.gtid, &dump, why, sizeof(why)) == -1 || dump.n == 0)
		return errf(err, errlen, "backup %s stands after where server id %" PRIu32 "'s "
		    "log hands over to server id %" PRIu32 " (%s:%" PRIu64 "), and records no "
		    "GTID position to enter the new one by", p->id, l->parent_server, l->server,
		    l->parent_file, l->parent_end);
	for (i = p->run.first; p->ar.v[i].hist != l->hist; i++)
		;
	if ((fd = memfile_scratch("kbackup-enter", err, errlen)) == -1)
		return -1;
	rc = binlog_fetch_file(&p->ar, i, fd, &len, err, errlen);
	if (rc == 0 && (rc = blink_continuation(fd, len, &dump, &p->enter, err, errlen)) == 0)
		rc = errf(err, errlen, "%s of server id %" PRIu32 " holds no transaction after "
		    "backup %s's GTID position %s", l->file, l->server, p->id, p->pos.gtid);
	close(fd);
	return rc == -1 ? -1 : 0;
}

/* The plan's fetched files and their directory, removed. */
static void
plan_files_free(struct binlog_plan *p)
{
	size_t	i;

	for (i = 0; p->files != NULL && p->files[i] != NULL; i++)
		free(p->files[i]);
	free(p->files);
	free(p->fhist);
	p->files = NULL;
	p->fhist = NULL;
	if (p->dir != NULL)
		remove_dir(p->dir);
	free(p->dir);
	p->dir = NULL;
}

/* The run's files fetched into the plan's directory (the replay's). */
static int
plan_fetch(struct runner *r, struct binlog_plan *p, char *err, size_t errlen)
{
	p->dir = path_join(r->tmpdir, "binlog-replay");
	remove_dir(p->dir);
	if (mkdir_p(p->dir, 0700, err, errlen) == -1)
		return -1;
	return fetch_files(p, p->dir, err, errlen);
}

/*
 * Where the replay of the nth file fetched starts and ends: the dump's
 * position in its own file, a link's start in a history's first file
 * (end 0: the file's end).
 */
static void
file_bounds(const struct binlog_plan *p, size_t nth, uint64_t *from, uint64_t *end)
{
	const struct binlog_link	*l;

	*from = BOBJ_MAGIC_LEN;
	*end = 0;
	if (nth == 0)
		*from = p->pos.position;
	else if (p->fhist[nth] != p->fhist[nth - 1] &&
	    (l = binlog_link_of(&p->ar, p->fhist[nth])) != NULL)
		*from = nth == 1 && p->enter != 0 ? p->enter : l->start;
	if (p->files[nth + 1] != NULL && p->fhist[nth + 1] != p->fhist[nth] &&
	    (l = binlog_link_of(&p->ar, p->fhist[nth + 1])) != NULL)
		*end = l->parent_end;
}

/* --gtid: the walk over the nth file fetched (at path, of the file name). */
static int
walk_file(struct binlog_plan *p, const char *path, const char *name, size_t nth,
    char *err, size_t errlen)
{
	uint64_t	from, end;
	int		fd, rc;

	file_bounds(p, nth, &from, &end);
	if (nth == 0 && p->enter != 0)
		return 0;	/* its events are the next history's */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	rc = bgtid_file(p->walk, fd, name, from, end, err, errlen);
	close(fd);
	if (p->walk->done)
		p->stop_hist = p->fhist[nth];
	return rc;
}

/*
 * --gtid: where target stands in the run (bgtid.h), into p->stop; the files
 * are fetched and walked one by one, up to the one it stands in.
 */
static int
gtid_locate(struct runner *r, struct binlog_plan *p, const struct my_gtid_pos *target,
    char *err, size_t errlen)
{
	struct my_gtid_pos	 dump;
	struct bgtid_walk	 w;
	char			 why[KB_ERRLEN];
	int			 rc;

	if (my_gtid_pos_parse(p->pos.gtid, &dump, why, sizeof(why)) == -1)
		return errf(err, errlen, "backup %s: its GTID position '%s': %s", p->id,
		    p->pos.gtid, why);
	if (bgtid_begin(&w, target, &dump, p->id, err, errlen) == -1)
		return -1;
	p->walk = &w;
	rc = plan_fetch(r, p, err, errlen);
	p->walk = NULL;
	if (rc == 0 && !w.done)
		rc = bgtid_end(&w, p->ar.v[p->run.end - 1].name, p->ar.v[p->run.end - 1].to,
		    err, errlen);
	if (rc == -1) {
		if (p->run.gap[0] != '\0') {
			strlcpy(why, err, sizeof(why));
			errf(err, errlen, "%s, and the binary logs of backup %s stop at a gap: %s "
			    "is missing from the archive", why, p->id, p->run.gap);
		}
		return -1;
	}
	p->stop = w.stop;
	log_kv(LOGL_INFO, "the GTID position stands in the binary logs", "gtid", p->gtid,
	    "before", p->stop.file, NULL);
	return 0;
}

/* The options of a target in the binary logs, parsed; EXIT_USAGE when one is bad. */
static int
plan_options(const struct runner *r, const struct restore_request *req,
    struct binlog_plan *p, struct my_gtid_pos *target)
{
	char	err[KB_ERRLEN];

	if ((req->position != NULL || req->gtid != NULL) && !binlog_pitr_on(r)) {
		log_kv(LOGL_ERROR, req->gtid != NULL ? "restore --gtid needs [mysql] binlog = "
		    "archive" : "restore --position needs [mysql] binlog = archive", NULL);
		return EXIT_USAGE;
	}
	if (req->position != NULL && position_parse(req->position, &p->stop) == -1) {
		log_kv(LOGL_ERROR, "restore --position takes FILE:POS, a binary log file and "
		    "an offset in it (mysql-bin.000031:1822)", "position", req->position, NULL);
		return EXIT_USAGE;
	}
	if (req->gtid != NULL && (my_gtid_pos_parse(req->gtid, target, err,
	    sizeof(err)) == -1 || (target->n == 0 && errf(err, sizeof(err), "empty") == -1))) {
		log_kv(LOGL_ERROR, "restore --gtid takes a MariaDB GTID position: "
		    "DOMAIN-SERVER-SEQ, one per domain, comma-separated (0-1-57), as "
		    "@@gtid_binlog_pos gives it; MySQL's UUID:N sets are not read (use "
		    "--position or --at)", "gtid", req->gtid, "error", err, NULL);
		return EXIT_USAGE;
	}
	p->gtid = req->gtid;
	return EXIT_OK;
}

int
binlog_pitr_plan(struct runner *r, const struct restore_request *req, struct opened *o,
    struct binlog_plan *p)
{
	struct my_gtid_pos	 target;
	const char		*tz = config_get(r->backup, "timezone");
	char			 err[KB_ERRLEN], missing[BINLOG_KEY_MAX];
	int			 rc;

	memset(p, 0, sizeof(*p));
	if ((rc = plan_options(r, req, p, &target)) != EXIT_OK)
		return rc;
	if ((req->at == NULL && req->position == NULL && req->gtid == NULL) ||
	    !binlog_pitr_on(r))
		return EXIT_OK;
	p->id = o->m->id;
	if (req->at != NULL && time_parse(req->at, tz, &p->at, err, sizeof(err)) == -1)
		goto fail;
	if ((rc = my_binpos_from_details(o->m->details, &p->pos, err, sizeof(err))) != 1) {
		if (rc == 0)
			errf(err, sizeof(err), "backup %s records no binary log position (taken "
			    "before binlog = archive?): it restores only as it was", o->m->id);
		goto fail;
	}
	if (binlog_archive_open(o->loc, r->base, &o->keys, &p->ar, err, sizeof(err)) == -1)
		goto fail;
	if (dump_run(&p->ar, &p->pos, o->m->id, &p->hist, &p->run, missing, sizeof(missing),
	    err, sizeof(err)) == -1 || plan_enter(p, err, sizeof(err)) == -1)
		goto fail;
	if (req->gtid != NULL && gtid_locate(r, p, &target, err, sizeof(err)) == -1)
		goto fail;
	if (req->at != NULL ? plan_check(p, dump_from(&p->pos, o->m->finished), err,
	    sizeof(err)) == -1 :
	    plan_check_position(p, err, sizeof(err)) == -1)
		goto fail;
	/* Every piece read and checked now: a damaged one refuses the restore, not half of it. */
	if (!req->dry_run && p->files == NULL && plan_fetch(r, p, err, sizeof(err)) == -1)
		goto fail;
	p->active = 1;
	return EXIT_OK;
fail:
	log_kv(LOGL_ERROR, "restore to a point in time refused before anything was written",
	    "id", o->m->id, "error", err, NULL);
	binlog_pitr_free(p);
	return EXIT_JOB;
}

/* "2026-11-24T11:30:00Z" or "mysql-bin.000031:1822". */
static void
target_text(const struct binlog_plan *p, char *buf, size_t len)
{
	if (p->at != 0) {
		time_to_rfc3339(p->at, buf);
		return;
	}
	snprintf(buf, len, "%s:%" PRIu64 "%s%s%s", p->stop.file, p->stop.position,
	    p->gtid != NULL ? " (the end of GTID " : "", p->gtid != NULL ? p->gtid : "",
	    p->gtid != NULL ? ")" : "");
}

void
binlog_pitr_print(const struct binlog_plan *p, FILE *out)
{
	char	when[TARGET_TEXT];
	size_t	i;

	if (!p->active)
		return;
	target_text(p, when, sizeof(when));
	/* Logged too: a triggered dry run shows it to the trigger client. */
	log_kv(LOGL_INFO, "restore dry run: then the binary logs", "from", p->pos.file,
	    "until", when, "through", p->ar.v[p->run.end - 1].name, NULL);
	fprintf(out, "then the binary logs from %s:%" PRIu64 ", every event %s %s, from the "
	    "archived files:\n", p->pos.file, p->pos.position, p->at != 0 ?
	    "up to (inclusive, to the second)" : "before", when);
	for (i = p->run.first; i < p->run.end; i++) {
		if (i > p->run.first && p->ar.v[i].hist != p->ar.v[i - 1].hist)
			fprintf(out, "  then server id %" PRIu32 "'s log (a failover):\n",
			    binlog_link_of(&p->ar, p->ar.v[i].hist)->server);
		if (i == p->run.first || p->ar.v[i].hist != p->ar.v[i - 1].hist ||
		    strcmp(p->ar.v[i].name, p->ar.v[i - 1].name) != 0)
			fprintf(out, "  %s\n", p->ar.v[i].name);
	}
}

void
binlog_pitr_free(struct binlog_plan *p)
{
	plan_files_free(p);
	if (p->ar.base != NULL)
		binlog_archive_close(&p->ar);
	memset(p, 0, sizeof(*p));
}

/* Where piece i's file is put: its name, after its history's number from the second on. */
static char *
local_path(const char *dir, const struct binlog_piece *piece)
{
	if (piece->hist <= 1)
		return path_join(dir, piece->name);
	return xasprintf("%s/%" PRIu32 "-%s", dir, piece->hist, piece->name);
}

/* Whether piece i, fetched, ends its file in the run. */
static int
file_done(const struct binlog_plan *p, size_t i)
{
	return i + 1 == p->run.end || p->ar.v[i].last || p->ar.v[i + 1].hist != p->ar.v[i].hist;
}

/* A file fetched, appended to the plan's (NULL-terminated) list. */
static void
files_add(struct binlog_plan *p, size_t *n, char *path, uint32_t hist)
{
	p->files = xreallocarray(p->files, *n + 2, sizeof(*p->files));
	p->fhist = xreallocarray(p->fhist, *n + 2, sizeof(*p->fhist));
	p->fhist[*n] = hist;
	p->files[(*n)++] = path;
	p->files[*n] = NULL;
}

/* Reassembles the files of the run into dir, into the plan's files. */
static int
fetch_files(struct binlog_plan *p, const char *dir, char *err, size_t errlen)
{
	const struct binlog_piece	*v = p->ar.v;
	struct bobj_head		 h;
	size_t				 i, n = 0;
	char				*path = NULL;
	int				 fd = -1, rc = 0;

	p->files = xcalloc(1, sizeof(*p->files));
	p->fhist = xcalloc(1, sizeof(*p->fhist));
	for (i = p->run.first; i < p->run.end && rc == 0; i++) {
		if (cancel_requested())
			return errf(err, errlen, "cancelled");
		if (fd == -1) {
			path = local_path(dir, &v[i]);
			fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd == -1) {
				rc = errf(err, errlen, "%s: %s", path, strerror(errno));
				free(path);
				break;
			}
		}
		rc = binlog_fetch_piece(&p->ar, i, fd, &h, err, errlen);
		/* A later file whose first event is past the target is not needed. */
		if (rc == 0 && n > 0 && h.offset == 0 && p->at != 0 && h.first > p->at) {
			close(fd);
			unlink(path);
			free(path);
			fd = -1;
			break;
		}
		if (rc == 0 && file_done(p, i)) {
			close(fd);
			fd = -1;
			files_add(p, &n, path, v[i].hist);
			if (p->at == 0 && p->walk == NULL && v[i].hist == p->stop_hist &&
			    strcmp(v[i].name, p->stop.file) == 0)
				break;	/* --position: its file is the last */
			if (p->walk != NULL && ((rc = walk_file(p, path, v[i].name, n - 1, err,
			    errlen)) == -1 || p->walk->done))
				break;	/* --gtid: found in this file */
		}
	}
	if (fd != -1) {
		close(fd);
		free(path);
	}
	return rc;
}

static void
remove_dir(const char *dir)
{
	dir_unlink_files(dir);
	rmdir(dir);
}

/* The decoder's SQL into the client, without its GTIDs (my_binlog.h). */
static int
copy_out(int from, int to, char *err, size_t errlen)
{
	struct my_sql_filter	 f;
	char			*buf = xmalloc(COPY_CHUNK);
	char			*out = xmalloc(COPY_CHUNK + MY_SQL_FILTER_PEND);
	ssize_t			 n;
	size_t			 o;
	int			 rc = 0;

	my_sql_filter_init(&f);
	for (;;) {
		if (cancel_requested()) {
			rc = errf(err, errlen, "cancelled");
			break;
		}
		n = read(from, buf, COPY_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = errf(err, errlen, "reading mariadb-binlog: %s", strerror(errno));
			break;
		}
		o = n > 0 ? my_sql_filter_feed(&f, buf, (size_t)n, out) :
		    my_sql_filter_end(&f, out);
		if (write_all(to, out, o) == -1) {
			rc = errf(err, errlen, "the client stopped reading: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
	}
	free(buf);
	free(out);
	return rc;
}

/* One decoder over files [a, b) of the plan, one history's, into the client at fd. */
static int
replay_segment(struct runner *r, struct binlog_plan *p, size_t a, size_t b,
    const char *database, int fd, char *err, size_t errlen)
{
	struct engine_job	 dec;
	struct child		 c;
	struct tm		 tm;
	time_t			 stop = p->at + 1;
	char			 when[32], derr[KB_ERRLEN], *next = p->files[b];
	uint64_t		 from, end, last_from;
	int			 rc, drc;

	file_bounds(p, a, &from, &end);
	file_bounds(p, b - 1, &last_from, &end);
	if (end == 0 && next == NULL && p->at == 0)
		end = p->stop.position;
	if (a == 0 && p->enter != 0)
		return 0;	/* the next history holds its events after the dump */
	gmtime_r(&stop, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	runner_engine_job(r, &dec, database);
	memset(&c, 0, sizeof(c));
	p->files[b] = NULL;
	rc = mysql_binlog_decode_spawn(&dec, (const char *const *)p->files + a, from,
	    p->at != 0 ? when : NULL, end, &c, err, errlen);
	p->files[b] = next;
	if (rc == -1)
		return -1;
	rc = copy_out(c.out_fd, fd, err, errlen);
	drc = child_wait(&c, derr, sizeof(derr));
	if (rc == 0 && drc == -1)
		rc = errf(err, errlen, "%s", derr);
	return rc;
}

/* The fetched files into the client: a decoder a history, one after the other. */
static int
replay(struct runner *r, struct binlog_plan *p, const char *database, char *err,
    size_t errlen)
{
	struct engine_job	 job;
	char			 derr[KB_ERRLEN];
	size_t			 a, b;
	int			 fd, rc = 0;

	runner_engine_job(r, &job, database);
	if (r->engine->restore_begin(&job, &fd, err, errlen) == -1)
		return -1;
	for (a = 0; rc == 0 && p->files[a] != NULL; a = b) {
		for (b = a + 1; p->files[b] != NULL && p->fhist[b] == p->fhist[a]; b++)
			;
		rc = replay_segment(r, p, a, b, database, fd, err, errlen);
	}
	if (r->engine->restore_end(&job, rc == -1, derr, sizeof(derr)) == -1 && rc == 0)
		rc = errf(err, errlen, "%s", derr);
	if (r->engine->release != NULL)
		r->engine->release(&job);
	return rc;
}

int
binlog_pitr_replay(struct runner *r, struct binlog_plan *p, const char *database,
    char *err, size_t errlen)
{
	char	when[TARGET_TEXT];
	int	rc = 0;

	target_text(p, when, sizeof(when));
	log_kv(LOGL_INFO, "replaying the binary logs", "from", p->pos.file, "until", when,
	    NULL);
	rc = replay(r, p, database, err, errlen);
	if (rc == -1)
		errprefix(err, errlen, "replaying the binary logs");
	plan_files_free(p);
	if (rc == 0)
		log_kv(LOGL_INFO, "binary logs replayed", "until", when, NULL);
	return rc;
}
