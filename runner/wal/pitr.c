/*
 * pitr: restore to a point in time, and the WAL side of verify, list and
 * backup.  See pitr.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/timeparse.h"
#include "common/util.h"
#include "engines/pg_physical.h"
#include "runner/binlog/bpitr.h"
#include "runner/stream/pipeline.h"
#include "runner/wal/pitr.h"

#define WAIT_POLL_MS	500

void
wal_bases_of(const struct catalog *c, struct wal_base **out, size_t *n)
{
	const struct catalog_entry	*e;
	struct wal_base			 b;
	char				 err[KB_ERRLEN];
	size_t				 i;

	*out = NULL;
	*n = 0;
	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->state != CATALOG_OK || !e->have_rec || e->future ||
		    !pg_physical_is(e->rec.details))
			continue;
		memset(&b, 0, sizeof(b));
		if (pg_physical_details_parse(e->rec.details, &b.d, err, sizeof(err)) == -1) {
			log_kv(LOGL_WARN, "physical backup left out: its details do not parse",
			    "id", e->id, "error", err, NULL);
			continue;
		}
		strlcpy(b.id, e->id, sizeof(b.id));
		b.finished = e->rec.finished;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = b;
	}
}

/* The segment size of the bases (the archive's, where it has no archive.json yet). */
static uint64_t
bases_segsize(const struct wal_base *b, size_t n)
{
	return n > 0 ? b[0].d.segsize : 0;
}

/* verify and list */

static void
report_window(FILE *out, const struct wal_archive *ar, const struct wal_window *w)
{
	char	text[128], first[PG_WAL_NAME_MAX];

	wal_window_text(w, text, sizeof(text));
	pg_wal_segment_name(w->timeline, w->first_segno, ar->id.segsize, first);
	fprintf(out, "WAL timeline %u: %s (%zu base backup%s, WAL from %s)%s%s%s\n",
	    w->timeline, text, w->nbases, w->nbases == 1 ? "" : "s", first,
	    w->gap[0] != '\0' ? "; ends at a gap: segment " : "", w->gap,
	    w->gap[0] != '\0' ? " is missing" : "");
}

/* verify: every file of the archive read back, frame by frame; those that fail, named. */
static size_t
files_read(struct wal_archive *ar, FILE *out)
{
	char	err[KB_ERRLEN];
	size_t	i, bad = 0;
	int	missing;

	for (i = 0; i < ar->n; i++) {
		if (wal_fetch(ar->loc, ar->kr, ar->base, ar->v[i].name, -1, NULL, &missing, err,
		    sizeof(err)) == -1) {
			fprintf(out, "WAL: %s FAILED %s\n", ar->v[i].key, err);
			bad++;
		}
		if (cancel_requested())
			return bad + 1;
	}
	fprintf(out, "WAL archive: %zu of %zu files read back whole\n", ar->n - bad, ar->n);
	return bad;
}

size_t
wal_report(struct runner *r, struct location *loc, const struct catalog *c, FILE *out,
    int read)
{
	struct wal_base		*bases;
	struct wal_archive	 ar;
	struct wal_window	*w = NULL;
	struct wal_bad_base	*bad = NULL;
	struct keyring		 kr;
	char			 err[KB_ERRLEN];
	size_t			 nbases, nw = 0, nbad = 0, i, problems = 0;

	if (binlog_pitr_on(r))		/* MariaDB/MySQL: the binary log archive */
		return binlog_report(r, loc, c, out, read);
	wal_bases_of(c, &bases, &nbases);
	if (nbases == 0) {
		free(bases);
		return 0;
	}
	if (keyring_load(loc->section, &kr, err, sizeof(err)) == -1 ||
	    wal_archive_open(loc, r->base, &kr, bases_segsize(bases, nbases), &ar, err,
	    sizeof(err)) == -1) {
		fprintf(out, "WAL archive: FAILED %s\n", err);
		free(bases);
		return 1;
	}
	wal_windows(&ar, bases, nbases, &w, &nw, &bad, &nbad, err, sizeof(err));
	fprintf(out, "WAL archive: %zu segment%s, timelines up to %u, %zu history file%s\n",
	    ar.nsegs, ar.nsegs == 1 ? "" : "s", ar.max_tli, ar.nhist, ar.nhist == 1 ? "" : "s");
	for (i = 0; i < nbad; i++) {
		fprintf(out, "WAL: base backup %s cannot be restored: segment %s is missing\n",
		    bad[i].base->id, bad[i].missing);
		problems++;
	}
	for (i = 0; i < nw; i++) {
		report_window(out, &ar, &w[i]);
		problems += w[i].gap[0] != '\0';
	}
	if (nw == 0)
		fprintf(out, "WAL: no recoverable window\n");
	if (read)
		problems += files_read(&ar, out);
	fflush(out);
	free(w);
	free(bad);
	free(bases);
	wal_archive_close(&ar);
	keyring_free(&kr);
	return problems;
}

json_t *
wal_report_json(struct runner *r, struct location *loc, const struct catalog *c)
{
	struct wal_base		*bases;
	struct wal_archive	 ar;
	struct wal_window	*w = NULL, *win;
	struct wal_bad_base	*bad = NULL;
	struct keyring		 kr;
	char			 err[KB_ERRLEN], from[21], to[21];
	size_t			 nbases, nw = 0, nbad = 0, i, *win_of;
	json_t			*o;

	if (binlog_pitr_on(r))		/* MariaDB/MySQL: the binary log archive */
		return binlog_report_json(r, loc, c);
	wal_bases_of(c, &bases, &nbases);
	if (nbases == 0) {
		free(bases);
		return NULL;
	}
	o = json_object();
	if (keyring_load(loc->section, &kr, err, sizeof(err)) == -1 ||
	    wal_archive_open(loc, r->base, &kr, bases_segsize(bases, nbases), &ar, err,
	    sizeof(err)) == -1) {
		free(bases);
		return o;
	}
	/* The windows once (their ends cost reads), then which each backup is in. */
	wal_windows(&ar, bases, nbases, &w, &nw, &bad, &nbad, err, sizeof(err));
	win_of = xcalloc(nbases, sizeof(*win_of));
	wal_windows_of(&ar, bases, nbases, w, nw, win_of);
	for (i = 0; i < nbases; i++) {
		if (win_of[i] == SIZE_MAX) {
			json_object_set_new(o, bases[i].id, json_pack("{s:b, s:s}",
			    "restorable", 0, "why", "the WAL it needs is not all archived"));
			continue;
		}
		win = &w[win_of[i]];
		time_to_rfc3339(win->from, from);
		time_to_rfc3339(win->to, to);
		json_object_set_new(o, bases[i].id, json_pack("{s:b, s:i, s:s, s:s, s:s?}",
		    "restorable", 1, "timeline", (int)win->timeline, "recoverable_from", from,
		    "recoverable_to", to, "gap", win->gap[0] != '\0' ? win->gap : NULL));
	}
	free(win_of);
	free(w);
	free(bad);
	free(bases);
	wal_archive_close(&ar);
	keyring_free(&kr);
	return o;
}

/* backup: the WAL a base backup needs, archived before it is committed */

static int
segments_there(struct location *loc, const char *base, const struct pg_physical_details *d,
    char *missing, char *err, size_t errlen)
{
	struct storage_stat	st;
	char			name[PG_WAL_NAME_MAX], *key;
	uint64_t		s;
	uint32_t		tli;
	int			miss, rc;

	for (s = d->first_segno; s <= d->last_segno; s++) {
		tli = s == d->last_segno ? d->stop_timeline : d->timeline;
		pg_wal_segment_name(tli, s, d->segsize, name);
		key = wal_key(base, name);
		rc = loc->st->ops->head(loc->st, key, &st, &miss, err, errlen);
		free(key);
		if (rc == -1 && miss) {
			strlcpy(missing, name, PG_WAL_NAME_MAX);
			return 0;
		}
		if (rc == -1)
			return -1;
	}
	missing[0] = '\0';
	return 1;
}

/*
 * Segments of the backup's names are there: they must be this server's.  Another
 * cluster of the same definition archiving here has segments of the same names,
 * and its base backup would be committed beside WAL it cannot replay.
 */
static int
archive_of(struct location *loc, const char *base, const struct pg_physical_details *d,
    char *err, size_t errlen)
{
	struct wal_identity	have, want;
	int			missing = 0;

	if (wal_identity_read(loc->st, base, &have, &missing, err, errlen) == -1)
		return errprefix(err, errlen, "the WAL archive in %s", loc->desc);
	want.sysid = d->sysid;
	want.segsize = d->segsize;
	return wal_identity_same(loc, &have, &want, "this server", err, errlen);
}

int
wal_wait_archived(struct runner *r, const json_t *details, char *err, size_t errlen)
{
	struct pg_physical_details	 d;
	struct pollfd			 pfd;
	char				 missing[PG_WAL_NAME_MAX] = "", secs[24];
	int64_t				 wait = config_get_duration(r->engine_section, "wal_wait");
	time_t				 deadline = time(NULL) + (wait > 0 ? wait : 0);
	size_t				 i;
	int				 rc;

	if (pg_physical_details_parse(details, &d, err, errlen) == -1)
		return -1;
	for (i = 0; i < r->nlocations; i++) {
		for (;;) {
			rc = segments_there(&r->locations[i], r->base, &d, missing, err, errlen);
			if (rc == -1)
				return errprefix(err, errlen, "checking the archived WAL");
			if (rc == 1 && archive_of(&r->locations[i], r->base, &d, err, errlen) == -1)
				return -1;
			if (rc == 1)
				break;
			if (cancel_requested())
				return errf(err, errlen, "cancelled");
			if (time(NULL) >= deadline) {
				snprintf(secs, sizeof(secs), "%llds", (long long)wait);
				return errf(err, errlen, "segment %s, which the backup needs, was not "
				    "archived in %s within wal_wait (%s): is archive_command "
				    "kbackup-runner wal-push, or the daemon streaming "
				    "(wal_method = stream)?", missing, r->locations[i].desc, secs);
			}
			pfd.fd = cancel_fd();
			pfd.events = POLLIN;
			poll(&pfd, pfd.fd == -1 ? 0 : 1, WAIT_POLL_MS);
		}
	}
	log_kv(LOGL_INFO, "the WAL the backup needs is archived", NULL);
	return 0;
}

/* restore --data-dir */

/* 1 if dir is empty or absent (*absent set), 0 if not, -1 if it cannot be read. */
static int
dir_empty(const char *dir, int *absent, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	int		 empty = 1;

	*absent = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			*absent = 1;
			return 1;
		}
		return errf(err, errlen, "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return remove(path) == -1 ? -1 : 0;
}

/* Empties a directory this restore found empty (and removes it if it made it). */
static void
dir_undo(const char *dir, int created)
{
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == -1)
		log_kv(LOGL_ERROR, "the data directory could not be emptied again", "path",
		    dir, "error", strerror(errno), NULL);
	else if (created)
		rmdir(dir);
}

/* A word the shell takes as it is, else in single quotes. */
static char *
shell_word(const char *s)
{
	if (s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "/._-+=:,@")] == '\0')
		return xstrdup(s);
	return str_quote(s, '\'');
}

/* A postgresql.conf string: in single quotes, each one inside doubled. */
static void
conf_string(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s = '", key);
	for (; *value != '\0'; value++) {
		if (*value == '\'')
			fputc('\'', f);
		fputc(*value, f);
	}
	fprintf(f, "'\n");
}

static char *
restore_command(struct runner *r, const struct restore_request *req)
{
	char	 exe[PATH_MAX], conf[PATH_MAX], *a, *b, *c = NULL, *cmd;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		strlcpy(exe, "kbackup-runner", sizeof(exe));
	else
		exe[n] = '\0';
	if (realpath(r->cfg->path, conf) == NULL)
		strlcpy(conf, r->cfg->path, sizeof(conf));
	a = shell_word(exe);
	b = shell_word(conf);
	if (req->storage != NULL)
		c = shell_word(req->storage);
	cmd = xasprintf("%s -c %s wal-get%s%s %%f %%p", a, b, c != NULL ? " --storage " : "",
	    c != NULL ? c : "");
	free(a);
	free(b);
	free(c);
	return cmd;
}

static int
write_recovery(struct runner *r, const struct restore_request *req,
    const struct wal_plan *p, char *err, size_t errlen)
{
	char	*path, *cmd, at[32], lsn[PG_WAL_LSN_MAX], tl[16];
	FILE	*f;
	int	 fd;

	path = path_join(req->data_dir, "postgresql.auto.conf");
	f = fopen(path, "a");
	free(path);
	if (f == NULL)
		return errf(err, errlen, "postgresql.auto.conf: %s", strerror(errno));
	cmd = restore_command(r, req);
	fprintf(f, "\n# Added by kbackup-runner restore of base backup %s: recovery from its "
	    "WAL archive.\n", p->base->id);
	conf_string(f, "restore_command", cmd);
	free(cmd);
	switch (p->recovery) {
	case WAL_RECOVER_TIME:
		strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S+00", gmtime(&p->at));
		conf_string(f, "recovery_target_time", at);
		break;
	case WAL_RECOVER_LSN:
		pg_wal_lsn_format(p->lsn, lsn);
		conf_string(f, "recovery_target_lsn", lsn);
		break;
	case WAL_RECOVER_IMMEDIATE:
		conf_string(f, "recovery_target", "immediate");
		break;
	case WAL_RECOVER_END:
		break;
	}
	snprintf(tl, sizeof(tl), "%u", p->timeline);
	conf_string(f, "recovery_target_timeline", tl);
	conf_string(f, "recovery_target_action", "promote");
	if (fclose(f) != 0)
		return errf(err, errlen, "postgresql.auto.conf: %s", strerror(errno));
	path = path_join(req->data_dir, "recovery.signal");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(path);
	if (fd == -1 || close(fd) == -1)
		return errf(err, errlen, "recovery.signal: %s", strerror(errno));
	return 0;
}

static int
parse_target(struct runner *r, const struct restore_request *req, struct wal_target *t,
    char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (req->which != NULL && strcmp(req->which, "latest") != 0)
		t->id = req->which;
	if (req->at != NULL) {
		t->kind = WAL_TARGET_TIME;
		return time_parse(req->at, config_get(r->backup, "timezone"), &t->at, err,
		    errlen);
	}
	if (req->lsn != NULL) {
		t->kind = WAL_TARGET_LSN;
		if (pg_wal_lsn_parse(req->lsn, &t->lsn) == -1)
			return errf(err, errlen, "--lsn %s: not an LSN (such as 16/B374D848)",
			    req->lsn);
		return 0;
	}
	t->kind = t->id != NULL ? WAL_TARGET_BACKUP : WAL_TARGET_LATEST;
	return 0;
}

static void
plan_text(const struct wal_plan *p, char *buf, size_t len)
{
	char	when[21], lsn[PG_WAL_LSN_MAX];

	switch (p->recovery) {
	case WAL_RECOVER_TIME:
		time_to_rfc3339(p->at, when);
		snprintf(buf, len, "recover to %s", when);
		break;
	case WAL_RECOVER_LSN:
		pg_wal_lsn_format(p->lsn, lsn);
		snprintf(buf, len, "recover to LSN %s", lsn);
		break;
	case WAL_RECOVER_IMMEDIATE:
		snprintf(buf, len, "recover until the backup is consistent");
		break;
	case WAL_RECOVER_END:
		time_to_rfc3339(p->window.to, when);
		snprintf(buf, len, "recover all the archived WAL (to %s)", when);
		break;
	}
}

/* The base backup can be read with this location's keys: its first frame opens. */
static int
probe_base(struct location *loc, const struct keyring *kr, const struct backup_record *m,
    char *err, size_t errlen)
{
	unsigned char	one;
	uint64_t	raw;

	if (m->nparts != 1)
		return errf(err, errlen, "backup %s has %zu parts", m->id, m->nparts);
	return pipeline_restore_head(loc->st, m->parts[0].key, kr, m->id, NULL,
	    m->parts[0].container.cipher, &one, 1, 1, -1, NULL, &raw, NULL, err, errlen);
}

/* The first and last segment of the run the plan replays open with these keys too. */
static int
probe_wal(struct wal_archive *ar, const struct wal_plan *p, char *err, size_t errlen)
{
	struct wal_path		 path;
	struct walobj_head	 h;
	char			 name[PG_WAL_NAME_MAX], *key;
	uint64_t		 ends[2];
	int			 i, missing, rc = 0;

	if (wal_path_of(ar, p->timeline, &path, err, errlen) == -1)
		return -1;
	ends[0] = p->base->d.first_segno;
	ends[1] = p->window.last_segno;
	for (i = 0; i < 2 && rc == 0; i++) {
		pg_wal_segment_name(wal_path_tli(&path, ends[i]), ends[i], ar->id.segsize, name);
		key = wal_key(ar->base, name);
		rc = wal_read_head(ar->loc, ar->kr, key, name, &h, &missing, err, errlen);
		free(key);
	}
	wal_path_free(&path);
	return rc;
}

struct physical {
	struct runner			*r;
	const struct restore_request	*req;
	struct catalog			 c;
	struct keyring			 kr;
	struct location			*loc;
	struct wal_archive		 ar;
	struct wal_base			*bases;
	size_t				 nbases;
	struct wal_plan			 plan;
	struct catalog_entry		*e;
};

/* Everything decided and checked before the data directory is touched. */
static int
physical_plan(struct physical *ph, char *err, size_t errlen)
{
	struct runner		*r = ph->r;
	struct wal_target	 t;
	struct wal_base		 fresh;
	int			 absent;

	if (parse_target(r, ph->req, &t, err, errlen) == -1)
		return -1;
	switch (dir_empty(ph->req->data_dir, &absent, err, errlen)) {
	case -1:
		return -1;
	case 0:
		return errf(err, errlen, "%s is not empty: a physical restore goes into an empty "
		    "or new directory", ph->req->data_dir);
	}
	if (catalog_open(r, ph->loc, 0, &ph->c, err, errlen) == -1)
		return -1;
	if (keyring_load(ph->loc->section, &ph->kr, err, errlen) == -1)
		return errprefix(err, errlen, "bad encryption key");
	wal_bases_of(&ph->c, &ph->bases, &ph->nbases);
	if (ph->nbases == 0)
		return errf(err, errlen, "no physical base backup in %s", ph->loc->desc);
	if (wal_archive_open(ph->loc, r->base, &ph->kr, bases_segsize(ph->bases, ph->nbases),
	    &ph->ar, err, errlen) == -1)
		return -1;
	if (wal_plan_target(&ph->ar, ph->bases, ph->nbases, &t, &ph->plan, err, errlen) == -1)
		return -1;
	/* The index proposed it; its own manifest decides. */
	if ((ph->e = catalog_find(&ph->c, ph->plan.base->id)) == NULL ||
	    catalog_refresh(&ph->c, ph->e, err, errlen) == -1)
		return -1;
	if (ph->e->state != CATALOG_OK || pg_physical_details_parse(ph->e->rec.details,
	    &fresh.d, err, errlen) == -1 || memcmp(&fresh.d, &ph->plan.base->d,
	    sizeof(fresh.d)) != 0)
		return errf(err, errlen, "backup %s: its manifest does not say what the index "
		    "did (run the restore again)", ph->plan.base->id);
	if (probe_base(ph->loc, &ph->kr, &ph->e->rec, err, errlen) == -1 ||
	    probe_wal(&ph->ar, &ph->plan, err, errlen) == -1)
		return -1;
	return 0;
}

/* The base backup into the directory, checked against its backup_manifest. */
static int
physical_unpack(struct physical *ph, char *err, size_t errlen)
{
	struct runner		*r = ph->r;
	struct engine_job	 job;
	struct progress		 prog;
	char			 eerr[KB_ERRLEN];
	uint64_t		 raw = 0;
	int			 fd, prc, erc;

	runner_engine_job(r, &job, NULL);
	job.data_dir = ph->req->data_dir;
	if (r->engine->restore_begin(&job, &fd, err, errlen) == -1)
		return -1;
	progress_start(&prog, PROGRESS_RESTORE, ph->e->rec.stored_bytes);
	prc = job_read_part(ph->loc, &ph->kr, &ph->e->rec, 0, fd, &prog, &raw, err, errlen);
	erc = r->engine->restore_end(&job, prc == -1, eerr, sizeof(eerr));
	progress_finish(&prog, prc == 0 && erc == 0);
	if (prc == 0 && erc == -1)
		return errf(err, errlen, "%s", eerr);
	return prc == 0 ? 0 : -1;
}

static void
physical_free(struct physical *ph)
{
	if (ph->ar.base != NULL)
		wal_archive_close(&ph->ar);
	free(ph->bases);
	keyring_free(&ph->kr);
	if (ph->c.r != NULL)
		catalog_close(&ph->c);
}

int
pitr_on(const struct runner *r)
{
	return strcmp(r->engine->desc->name, "postgres") == 0 &&
	    pg_physical_on(r->engine_section);
}

int
job_restore_physical(struct runner *r, const struct restore_request *req)
{
	struct physical	 ph;
	char		 err[KB_ERRLEN], what[128], *dir = req->data_dir ?
			    (char *)req->data_dir : "";
	int		 absent = 0, rc = EXIT_JOB;

	if (!pitr_on(r)) {
		log_kv(LOGL_ERROR, "restore --data-dir needs [postgres] method = physical",
		    "engine", r->engine->desc->name, NULL);
		return EXIT_USAGE;
	}
	memset(&ph, 0, sizeof(ph));
	ph.r = r;
	ph.req = req;
	if ((ph.loc = job_location(r, req->storage)) == NULL)
		return EXIT_USAGE;
	if (physical_plan(&ph, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "restore refused; nothing was written", "error", err, NULL);
		goto out;
	}
	plan_text(&ph.plan, what, sizeof(what));
	if (req->dry_run) {
		printf("would restore base backup %s from %s into %s and %s (timeline %u)\n",
		    ph.plan.base->id, ph.loc->desc, dir, what, ph.plan.timeline);
		fflush(stdout);
		rc = EXIT_OK;
		goto out;
	}
	log_kv(LOGL_INFO, "restore started", "id", ph.plan.base->id, "from", ph.loc->desc,
	    "into", dir, "recovery", what, NULL);
	dir_empty(dir, &absent, err, sizeof(err));
	if (absent && mkdir(dir, 0700) == -1) {
		log_kv(LOGL_ERROR, "restore failed", "error", strerror(errno), "path", dir, NULL);
		goto out;
	}
	if (physical_unpack(&ph, err, sizeof(err)) == -1 ||
	    write_recovery(r, req, &ph.plan, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "restore failed; the data directory was emptied again",
		    "id", ph.plan.base->id, "error", err, NULL);
		dir_undo(dir, absent);
		goto out;
	}
	log_kv(LOGL_INFO, "restore finished", "id", ph.plan.base->id, "into", dir, NULL);
	printf("restored base backup %s into %s; the server will %s (timeline %u) through "
	    "wal-get, then promote.\nStart it as the user that owns the cluster: pg_ctl -D %s "
	    "start\n(it archives into this archive too if its archive_command says so)\n",
	    ph.plan.base->id, dir, what, ph.plan.timeline, dir);
	fflush(stdout);
	rc = EXIT_OK;
out:
	physical_free(&ph);
	return rc;
}
