/*
 * pg_physical: physical base backups of PostgreSQL.  See pg_physical.h.
 */
#define _GNU_SOURCE	/* memmem, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <libpq-fe.h>

#include "common/log.h"
#include "common/memfile.h"
#include "common/proc.h"
#include "common/util.h"
#include "engines/pg_physical.h"

int
pg_physical_is(const json_t *details)
{
	const char	*m = json_string_value(json_object_get(details, "method"));

	return m != NULL && strcmp(m, "physical") == 0;
}

json_t *
pg_physical_details_json(const struct pg_physical_details *d)
{
	char	sys[24], start[PG_WAL_LSN_MAX], stop[PG_WAL_LSN_MAX];
	char	first[PG_WAL_NAME_MAX], last[PG_WAL_NAME_MAX];

	snprintf(sys, sizeof(sys), "%llu", (unsigned long long)d->sysid);
	pg_wal_lsn_format(d->start_lsn, start);
	pg_wal_lsn_format(d->stop_lsn, stop);
	pg_wal_segment_name(d->timeline, d->first_segno, d->segsize, first);
	pg_wal_segment_name(d->stop_timeline, d->last_segno, d->segsize, last);
	return json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "method", "physical", "server_version", d->server_version,
	    "server_version_num", d->server_version_num, "system_identifier", sys,
	    "wal_segment_size", (json_int_t)d->segsize, "timeline", (json_int_t)d->timeline,
	    "stop_timeline", (json_int_t)d->stop_timeline, "start_lsn", start, "stop_lsn", stop,
	    "first_segment", first, "last_segment", last, "wal_method", d->wal_method);
}

static int
get_lsn(const json_t *o, const char *key, uint64_t *lsn, char *err, size_t errlen)
{
	const char	*s = json_string_value(json_object_get(o, key));

	if (s == NULL || pg_wal_lsn_parse(s, lsn) == -1)
		return errf(err, errlen, "details: %s: not an LSN", key);
	return 0;
}

static int
get_segment(const json_t *o, const char *key, uint64_t segsize, uint32_t tli,
    uint64_t *segno, char *err, size_t errlen)
{
	const char		*s = json_string_value(json_object_get(o, key));
	struct pg_wal_name	 n;

	if (s == NULL || pg_wal_name_parse(s, segsize, &n) == -1 || n.kind != PG_WAL_SEGMENT)
		return errf(err, errlen, "details: %s: not a segment name", key);
	if (n.tli != tli)
		return errf(err, errlen, "details: %s: of timeline %u, not %u", key, n.tli, tli);
	*segno = n.segno;
	return 0;
}

static int
get_tli(const json_t *o, const char *key, uint32_t *tli, char *err, size_t errlen)
{
	json_int_t	v = json_integer_value(json_object_get(o, key));

	if (v < 1 || v > UINT32_MAX)
		return errf(err, errlen, "details: %s: not a timeline", key);
	*tli = (uint32_t)v;
	return 0;
}

int
pg_physical_details_parse(const json_t *o, struct pg_physical_details *d, char *err,
    size_t errlen)
{
	const char	*s;

	memset(d, 0, sizeof(*d));
	if (!pg_physical_is(o))
		return errf(err, errlen, "not a physical backup");
	if ((s = json_string_value(json_object_get(o, "server_version"))) == NULL ||
	    strlcpy(d->server_version, s, sizeof(d->server_version)) >=
	    sizeof(d->server_version))
		return errf(err, errlen, "details: server_version");
	d->server_version_num = (int)json_integer_value(json_object_get(o,
	    "server_version_num"));
	if ((s = json_string_value(json_object_get(o, "system_identifier"))) == NULL ||
	    strlen(s) == 0 || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s))
		return errf(err, errlen, "details: system_identifier");
	d->sysid = strtoull(s, NULL, 10);
	d->segsize = (uint64_t)json_integer_value(json_object_get(o, "wal_segment_size"));
	if (!pg_wal_segsize_valid(d->segsize))
		return errf(err, errlen, "details: wal_segment_size");
	if (get_tli(o, "timeline", &d->timeline, err, errlen) == -1 ||
	    get_tli(o, "stop_timeline", &d->stop_timeline, err, errlen) == -1 ||
	    get_lsn(o, "start_lsn", &d->start_lsn, err, errlen) == -1 ||
	    get_lsn(o, "stop_lsn", &d->stop_lsn, err, errlen) == -1 ||
	    get_segment(o, "first_segment", d->segsize, d->timeline, &d->first_segno, err,
	    errlen) == -1 ||
	    get_segment(o, "last_segment", d->segsize, d->stop_timeline, &d->last_segno, err,
	    errlen) == -1)
		return -1;
	if (d->stop_lsn < d->start_lsn || d->last_segno < d->first_segno ||
	    d->stop_timeline < d->timeline)
		return errf(err, errlen, "details: the backup stops before it starts");
	if ((s = json_string_value(json_object_get(o, "wal_method"))) == NULL ||
	    (strcmp(s, "push") != 0 && strcmp(s, "stream") != 0))
		return errf(err, errlen, "details: wal_method");
	strlcpy(d->wal_method, s, sizeof(d->wal_method));
	return 0;
}

/* The method's keys and their checks */

int
pg_physical_on(const struct config_section *s)
{
	const char	*m = config_get(s, "method");

	return m != NULL && strcmp(m, "physical") == 0;
}

int
pg_physical_check_slot(const char *v, char *err, size_t errlen)
{
	size_t	len = strlen(v);

	if (len < 1 || len > 63 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		return errf(err, errlen, "'%s' is not a replication slot name (a-z, 0-9 and _, "
		    "at most 63)", v);
	return 0;
}

int
pg_physical_validate(const struct config_section_schema *ss, const struct config_section *s,
    char *err, size_t errlen)
{
	static const char *const physical_only[] = { "wal_method", "slot", "checkpoint",
	    "wal_wait", NULL };
	static const char *const dump_only[] = { "dump_options", "restore_options",
	    "databases", "exclude", "globals", "role_passwords", NULL };
	const char	*wm = config_get(s, "wal_method");
	size_t		 i;

	for (i = 0; physical_only[i] != NULL; i++)
		if (!pg_physical_on(s) && config_given(s, physical_only[i]) != NULL)
			return errf(err, errlen, "%s: only with method = physical",
			    physical_only[i]);
	if (config_given(s, "slot") != NULL && (wm == NULL || strcmp(wm, "stream") != 0))
		return errf(err, errlen, "slot: only with wal_method = stream");
	for (i = 0; pg_physical_on(s) && dump_only[i] != NULL; i++)
		if (config_given(s, dump_only[i]) != NULL)
			return errf(err, errlen, "%s: not with method = physical (a physical "
			    "backup is the whole cluster; database names where the checks "
			    "connect)", dump_only[i]);
	return 0;
}

/* What the server says of itself before a backup */

struct pg_facts {
	char		 version[32];
	int		 version_num;
	uint64_t	 sysid;
	uint64_t	 segsize;
	int		 tablespaces;
	char		 spcnames[256];
	int		 in_recovery;
	char		 wal_level[16];
	char		 archive_mode[16];
};

static int
pg_facts(struct engine_job *job, const struct pg_tools *t, struct pg_facts *f, char *err,
    size_t errlen)
{
	static const char script[] =
	    "SELECT current_setting('server_version'), current_setting('server_version_num'),\n"
	    "  (SELECT system_identifier FROM pg_control_system()),\n"
	    "  (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),\n"
	    "  (SELECT count(*) FROM pg_tablespace WHERE spcname NOT IN ('pg_default',\n"
	    "    'pg_global')),\n"
	    "  coalesce((SELECT string_agg(spcname, ', ' ORDER BY spcname) FROM pg_tablespace\n"
	    "    WHERE spcname NOT IN ('pg_default', 'pg_global')), '-'),\n"
	    "  pg_is_in_recovery(), current_setting('wal_level'),\n"
	    "  current_setting('archive_mode');\n";
	char		*out = NULL, *v[9], *p, *save = NULL;
	const char	*database = config_get(job->section, "database");
	size_t		 i;

	memset(f, 0, sizeof(*f));
	if (t->psql(job, database, script, NULL, &out, err, errlen) == -1)
		return -1;
	p = out;
	for (i = 0; i < 9; i++)
		if ((v[i] = strtok_r(i == 0 ? p : NULL, "\t\n", &save)) == NULL) {
			errf(err, errlen, "the server's answer about itself is short");
			free(out);
			return -1;
		}
	strlcpy(f->version, v[0], sizeof(f->version));
	f->version[strcspn(f->version, " ")] = '\0';
	f->version_num = atoi(v[1]);
	f->sysid = strtoull(v[2], NULL, 10);
	f->segsize = strtoull(v[3], NULL, 10);
	f->tablespaces = atoi(v[4]);
	strlcpy(f->spcnames, v[5], sizeof(f->spcnames));
	f->in_recovery = strcmp(v[6], "t") == 0;
	strlcpy(f->wal_level, v[7], sizeof(f->wal_level));
	strlcpy(f->archive_mode, v[8], sizeof(f->archive_mode));
	free(out);
	return 0;
}

/* What a physical backup of this server needs; -1 says what is missing. */
static int
pg_facts_ok(const struct engine_job *job, const struct pg_facts *f, char *err,
    size_t errlen)
{
	const char	*mode = config_get(config_section(job->config, "backup"), "mode");

	if (strcmp(mode, "single") == 0)
		return errf(err, errlen, "method = physical needs [backup] mode = retained "
		    "(the WAL archive is pruned by the retained base backups)");
	if (f->version_num < 130000)
		return errf(err, errlen, "PostgreSQL %s: method = physical needs 13 or later "
		    "(backup manifests)", f->version);
	if (!pg_wal_segsize_valid(f->segsize))
		return errf(err, errlen, "the server's wal_segment_size %llu is none kbackup "
		    "knows", (unsigned long long)f->segsize);
	if (strcmp(f->wal_level, "minimal") == 0)
		return errf(err, errlen, "wal_level is minimal: set wal_level = replica (a "
		    "restart) for physical backups");
	if (f->tablespaces > 0)
		return errf(err, errlen, "the cluster has tablespaces of its own (%s): their "
		    "files are outside the data directory and method = physical does not back "
		    "them up; nothing was written", f->spcnames);
	return 0;
}

/* The method's state in a job */

#define LABEL_MAX	4096
#define MTAIL_MAX	(64 * 1024)	/* the manifest's end: WAL-Ranges and its checksum */
#define TEE_CHUNK	(128 * 1024)

enum { PH_BACKUP = 1, PH_RESTORE = 2 };

struct pg_phys {
	int		 mode;
	struct child	 child;
	int		 running;
	int		 pipe[2];
	pthread_t	 thread;
	int		 thread_running;
	int		 thread_rc;
	char		 thread_err[KB_ERRLEN];
	struct pg_facts	 facts;
	char		*data_dir;
	/* The tar as it passes (backup). */
	unsigned char	 hdr[512];
	size_t		 hdrfill;
	uint64_t	 remain;	/* data bytes of the current entry */
	uint64_t	 pad;
	int		 capture;	/* 1 backup_label, 2 backup_manifest */
	int		 zero_blocks;
	char		 label[LABEL_MAX + 1];
	size_t		 labellen;
	int		 saw_label;
	char		*mtail;		/* 2 * MTAIL_MAX */
	size_t		 mtaillen;
	int		 saw_manifest;
};

static struct pg_phys *
phys_of(struct engine_job *job, const struct pg_tools *t)
{
	void	**slot = t->state(job);

	if (*slot == NULL) {
		struct pg_phys *ph = xcalloc(1, sizeof(*ph));

		ph->pipe[0] = ph->pipe[1] = -1;
		*slot = ph;
	}
	return *slot;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* The tar stream of pg_basebackup, read as it passes on */

/* A tar header's size: octal digits, or base-256 for large files. */
static uint64_t
tar_size(const unsigned char *h)
{
	uint64_t	v = 0;
	size_t		i;

	if (h[124] & 0x80) {
		for (i = 125; i < 136; i++)
			v = v << 8 | h[i];
		return v;
	}
	for (i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(h[i] - '0');
	return v;
}

static void
tar_header(struct pg_phys *ph)
{
	const unsigned char	*h = ph->hdr;
	char			 name[101];
	size_t			 i;

	for (i = 0; i < 512 && h[i] == 0; i++)
		;
	if (i == 512) {
		ph->zero_blocks++;
		return;
	}
	memcpy(name, h, 100);
	name[100] = '\0';
	ph->remain = tar_size(h);
	ph->pad = (512 - ph->remain % 512) % 512;
	ph->capture = 0;
	/* Both are at the top of the base tar, named in full in the header. */
	if ((h[156] == '0' || h[156] == '\0') && h[345] == '\0') {
		if (strcmp(name, "backup_label") == 0)
			ph->capture = 1;
		else if (strcmp(name, "backup_manifest") == 0)
			ph->capture = 2;
	}
}

static void
tar_data(struct pg_phys *ph, const unsigned char *p, size_t n)
{
	size_t	keep;

	if (ph->capture == 1) {
		ph->saw_label = 1;
		keep = LABEL_MAX - ph->labellen < n ? LABEL_MAX - ph->labellen : n;
		memcpy(ph->label + ph->labellen, p, keep);
		ph->labellen += keep;
		ph->label[ph->labellen] = '\0';
	} else if (ph->capture == 2) {
		ph->saw_manifest = 1;
		if (n >= MTAIL_MAX) {
			memcpy(ph->mtail, p + n - MTAIL_MAX, MTAIL_MAX);
			ph->mtaillen = MTAIL_MAX;
			return;
		}
		if (ph->mtaillen + n > 2 * MTAIL_MAX) {
			memmove(ph->mtail, ph->mtail + ph->mtaillen - (MTAIL_MAX - n),
			    MTAIL_MAX - n);
			ph->mtaillen = MTAIL_MAX - n;
		}
		memcpy(ph->mtail + ph->mtaillen, p, n);
		ph->mtaillen += n;
	}
}

static void
tar_feed(struct pg_phys *ph, const unsigned char *p, size_t n)
{
	size_t	k;

	while (n > 0) {
		if (ph->remain > 0) {
			k = ph->remain < n ? (size_t)ph->remain : n;
			tar_data(ph, p, k);
			ph->remain -= k;
		} else if (ph->pad > 0) {
			k = ph->pad < n ? (size_t)ph->pad : n;
			ph->pad -= k;
		} else {
			k = 512 - ph->hdrfill < n ? 512 - ph->hdrfill : n;
			memcpy(ph->hdr + ph->hdrfill, p, k);
			ph->hdrfill += k;
			if (ph->hdrfill == 512) {
				tar_header(ph);
				ph->hdrfill = 0;
			}
		}
		p += k;
		n -= k;
	}
}

/* pg_basebackup's stdout to the pipeline, read on the way. */
static void *
tee_thread(void *arg)
{
	struct pg_phys	*ph = arg;
	unsigned char	*buf = xmalloc(TEE_CHUNK);
	ssize_t		 n;

	ph->thread_rc = -1;
	for (;;) {
		if ((n = read(ph->child.out_fd, buf, TEE_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			errf(ph->thread_err, sizeof(ph->thread_err), "reading pg_basebackup: %s",
			    strerror(errno));
			break;
		}
		if (n == 0) {
			ph->thread_rc = 0;
			break;
		}
		tar_feed(ph, buf, (size_t)n);
		if (write_all(ph->pipe[1], buf, (size_t)n) == -1) {
			errf(ph->thread_err, sizeof(ph->thread_err), "the pipeline stopped "
			    "reading: %s", strerror(errno));
			break;
		}
	}
	free(buf);
	close_fd(&ph->pipe[1]);
	return NULL;
}

int
pg_physical_backup_begin(struct engine_job *job, const struct pg_tools *t, int *fd,
    char *err, size_t errlen)
{
	struct pg_phys		*ph = phys_of(job, t);
	struct child_args	 a = { 0 }, env = { 0 };
	int			 rc;

	ph->mode = PH_BACKUP;
	if (t->prepare(job, config_get(job->section, "database"), err, errlen) == -1 ||
	    pg_facts(job, t, &ph->facts, err, errlen) == -1 ||
	    pg_facts_ok(job, &ph->facts, err, errlen) == -1)
		return -1;
	t->tool(job, &a, "pg_basebackup");
	t->conn_args(job, &a);
	child_args_add(&a, "--pgdata=-");
	child_args_add(&a, "--format=tar");
	child_args_add(&a, "--wal-method=none");
	child_args_addf(&a, "--checkpoint=%s", config_get(job->section, "checkpoint"));
	child_args_add(&a, "--label=kbackup");
	t->env(job, &env);
	rc = child_spawn(&ph->child, child_args_list(&a), child_args_list(&env), t->pass(job),
	    CHILD_STDOUT_PIPE, err, errlen);
	child_args_free(&a);
	child_args_free(&env);
	if (rc == -1)
		return -1;
	ph->running = 1;
	ph->mtail = xmalloc(2 * MTAIL_MAX);
	if (pipe2(ph->pipe, O_CLOEXEC) == -1) {
		errf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(&ph->thread, NULL, tee_thread, ph) != 0) {
		errf(err, errlen, "cannot start a thread");
		return -1;
	}
	ph->thread_running = 1;
	*fd = ph->pipe[0];
	log_kv(LOGL_INFO, "physical base backup started", "server", ph->facts.version,
	    "checkpoint", config_get(job->section, "checkpoint"), NULL);
	return 0;
}

/* "START WAL LOCATION: 0/2000028 (file ...)" and "START TIMELINE: 1" of backup_label. */
static int
label_parse(const char *label, uint64_t *start, uint32_t *tli, char *err, size_t errlen)
{
	const char	*p;
	char		 lsn[32];
	unsigned int	 t;

	if ((p = strstr(label, "START WAL LOCATION: ")) == NULL ||
	    sscanf(p + 20, "%31s", lsn) != 1 || pg_wal_lsn_parse(lsn, start) == -1)
		return errf(err, errlen, "backup_label: no START WAL LOCATION");
	if ((p = strstr(label, "START TIMELINE: ")) == NULL || sscanf(p + 16, "%u", &t) != 1 ||
	    t == 0)
		return errf(err, errlen, "backup_label: no START TIMELINE");
	*tli = t;
	return 0;
}

/* The last of the manifest's WAL-Ranges: the timeline and LSN the backup ends at. */
static int
manifest_parse(const char *tail, size_t len, uint64_t *stop, uint32_t *tli, char *err,
    size_t errlen)
{
	const char	*p, *s;
	char		*text;
	json_t		*o, *ranges, *last;
	json_error_t	 je;
	json_int_t	 t;
	size_t		 n;

	p = NULL;
	for (s = tail; (s = memmem(s, len - (size_t)(s - tail), "\"WAL-Ranges\"", 12)) != NULL;
	    s++)
		p = s;
	if (p == NULL)
		return errf(err, errlen, "backup_manifest: no WAL-Ranges");
	text = xasprintf("{%.*s", (int)(len - (size_t)(p - tail)), p);
	o = json_loads(text, 0, &je);
	free(text);
	ranges = json_object_get(o, "WAL-Ranges");
	if ((n = json_array_size(ranges)) == 0 || !json_is_object(last =
	    json_array_get(ranges, n - 1)) ||
	    (s = json_string_value(json_object_get(last, "End-LSN"))) == NULL ||
	    pg_wal_lsn_parse(s, stop) == -1 ||
	    (t = json_integer_value(json_object_get(last, "Timeline"))) < 1 || t > UINT32_MAX) {
		json_decref(o);
		return errf(err, errlen, "backup_manifest: its WAL-Ranges do not parse");
	}
	*tli = (uint32_t)t;
	json_decref(o);
	return 0;
}

static int
backup_details(struct engine_job *job, struct pg_phys *ph, char *err, size_t errlen)
{
	struct pg_physical_details	d;
	const struct pg_facts		*f = &ph->facts;

	memset(&d, 0, sizeof(d));
	if (!ph->saw_label || !ph->saw_manifest)
		return errf(err, errlen, "pg_basebackup's tar has no %s",
		    ph->saw_label ? "backup_manifest" : "backup_label");
	if (label_parse(ph->label, &d.start_lsn, &d.timeline, err, errlen) == -1 ||
	    manifest_parse(ph->mtail, ph->mtaillen, &d.stop_lsn, &d.stop_timeline, err,
	    errlen) == -1)
		return -1;
	if (d.stop_lsn <= d.start_lsn || d.stop_timeline < d.timeline)
		return errf(err, errlen, "the backup ends before it starts");
	strlcpy(d.server_version, f->version, sizeof(d.server_version));
	d.server_version_num = f->version_num;
	d.sysid = f->sysid;
	d.segsize = f->segsize;
	d.first_segno = d.start_lsn / d.segsize;
	d.last_segno = (d.stop_lsn - 1) / d.segsize;
	strlcpy(d.wal_method, config_get(job->section, "wal_method"), sizeof(d.wal_method));
	job->details = pg_physical_details_json(&d);
	return 0;
}

static int
backup_end(struct engine_job *job, struct pg_phys *ph, int aborted, char *err,
    size_t errlen)
{
	int	rc;

	/* The reader end first: a tee blocked on a full pipe gets EPIPE. */
	if (aborted)
		close_fd(&ph->pipe[0]);
	rc = child_finish(&ph->child, &ph->running, aborted, err, errlen);
	if (ph->thread_running) {
		pthread_join(ph->thread, NULL);
		ph->thread_running = 0;
		if (rc == 0 && !aborted && ph->thread_rc == -1)
			rc = errf(err, errlen, "%s", ph->thread_err);
	}
	close_fd(&ph->pipe[0]);
	if (aborted)
		return errf(err, errlen, "aborted");
	if (rc == 0)
		rc = backup_details(job, ph, err, errlen);
	return rc;
}

/* Restore: the tar unpacked into the data directory */

/* A name in the tar that stays inside the directory: relative, no "..". */
static int
tar_name_ok(const char *name)
{
	const char	*p;

	if (name == NULL || *name == '\0' || *name == '/')
		return 0;
	for (p = name; p != NULL; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return 0;
	}
	return 1;
}

static int
unpack_entry(struct pg_phys *ph, struct archive *a, struct archive *w,
    struct archive_entry *e)
{
	const char	*name = archive_entry_pathname(e);
	const void	*buf;
	size_t		 len;
	la_int64_t	 off;
	char		*path;
	int		 r;

	if (!tar_name_ok(name))
		return errf(ph->thread_err, sizeof(ph->thread_err), "tar: unsafe name %.100s",
		    name != NULL ? name : "(none)");
	if (archive_entry_filetype(e) != AE_IFREG && archive_entry_filetype(e) != AE_IFDIR)
		return errf(ph->thread_err, sizeof(ph->thread_err), "tar: %.100s is neither a "
		    "file nor a directory", name);
	path = path_join(ph->data_dir, name);
	archive_entry_set_pathname(e, path);
	free(path);
	if (archive_write_header(w, e) != ARCHIVE_OK)
		return errf(ph->thread_err, sizeof(ph->thread_err), "%s",
		    archive_error_string(w));
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK)
			return errf(ph->thread_err, sizeof(ph->thread_err), "%s",
			    archive_error_string(w));
	if (r != ARCHIVE_EOF)
		return errf(ph->thread_err, sizeof(ph->thread_err), "tar: %s",
		    archive_error_string(a));
	if (archive_write_finish_entry(w) != ARCHIVE_OK)
		return errf(ph->thread_err, sizeof(ph->thread_err), "%s",
		    archive_error_string(w));
	return 0;
}

static void *
unpack_thread(void *arg)
{
	struct pg_phys		*ph = arg;
	struct archive		*a = archive_read_new(), *w = archive_write_disk_new();
	struct archive_entry	*e;
	int			 r;

	ph->thread_rc = -1;
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
	if (archive_read_open_fd(a, ph->pipe[0], 65536) != ARCHIVE_OK) {
		errf(ph->thread_err, sizeof(ph->thread_err), "tar: %s", archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (unpack_entry(ph, a, w, e) == -1)
			goto out;
	if (r != ARCHIVE_EOF) {
		errf(ph->thread_err, sizeof(ph->thread_err), "tar: %s", archive_error_string(a));
		goto out;
	}
	ph->thread_rc = 0;
out:
	archive_write_free(w);
	archive_read_free(a);
	/* Whatever is left: read it, so the writer never blocks on a full pipe. */
	read_to_end(ph->pipe[0]);
	return NULL;
}

int
pg_physical_restore_begin(struct engine_job *job, const struct pg_tools *t, int *fd,
    char *err, size_t errlen)
{
	struct pg_phys	*ph = phys_of(job, t);
	char		 real[PATH_MAX];

	ph->mode = PH_RESTORE;
	if (job->data_dir == NULL)
		return errf(err, errlen, "a physical backup is restored into a data directory: "
		    "restore ... --data-dir DIR");
	if (realpath(job->data_dir, real) == NULL)
		return errf(err, errlen, "%s: %s", job->data_dir, strerror(errno));
	ph->data_dir = xstrdup(real);
	if (pipe2(ph->pipe, O_CLOEXEC) == -1)
		return errf(err, errlen, "pipe: %s", strerror(errno));
	if (pthread_create(&ph->thread, NULL, unpack_thread, ph) != 0)
		return errf(err, errlen, "cannot start a thread");
	ph->thread_running = 1;
	*fd = ph->pipe[1];
	return 0;
}

/* pg_verifybackup: every file against the backup's backup_manifest (WAL is the archive's). */
static int
verify_files(struct engine_job *job, const struct pg_tools *t, const char *dir, char *err,
    size_t errlen)
{
	struct child_args	a = { 0 };

	t->tool(job, &a, "pg_verifybackup");
	child_args_add(&a, "--no-parse-wal");
	child_args_add(&a, "--quiet");
	child_args_add(&a, dir);
	if (child_run_args(&a, NULL, NULL, 0, err, errlen) == -1)
		return errprefix(err, errlen, "the restored files do not match the backup's "
		    "backup_manifest");
	log_kv(LOGL_INFO, "restored files match the backup's backup_manifest", "path", dir,
	    NULL);
	return 0;
}

static int
restore_end(struct engine_job *job, const struct pg_tools *t, struct pg_phys *ph,
    int aborted, char *err, size_t errlen)
{
	close_fd(&ph->pipe[1]);
	if (ph->thread_running) {
		pthread_join(ph->thread, NULL);
		ph->thread_running = 0;
	}
	close_fd(&ph->pipe[0]);
	if (aborted)
		return errf(err, errlen, "aborted");
	if (ph->thread_rc == -1)
		return errf(err, errlen, "%s", ph->thread_err);
	return verify_files(job, t, ph->data_dir, err, errlen);
}

int
pg_physical_end(struct engine_job *job, const struct pg_tools *t, int aborted, char *err,
    size_t errlen)
{
	void		**slot = t->state(job);
	struct pg_phys	*ph = *slot;
	int		 rc = 0;

	if (ph == NULL)
		return 0;
	if (ph->mode == PH_BACKUP)
		rc = backup_end(job, ph, aborted, err, errlen);
	else if (ph->mode == PH_RESTORE)
		rc = restore_end(job, t, ph, aborted, err, errlen);
	else if (ph->running)
		child_kill(&ph->child);
	close_fd(&ph->pipe[0]);
	close_fd(&ph->pipe[1]);
	free(ph->mtail);
	free(ph->data_dir);
	free(ph);
	*slot = NULL;
	return rc;
}

/* A replication connection, as pg_basebackup and the stream make: privilege and pg_hba. */
static int
replication_ok(struct engine_job *job, char *err, size_t errlen)
{
	static const char *const keys[] = { "host", "user", "password", "sslmode",
	    "port", "dbname" };
	const char	*kw[10], *val[10], *v;
	PGconn		*conn;
	PGresult	*res;
	size_t		 i, n = 0;
	int		 rc = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = config_get(job->section, strcmp(keys[i], "dbname") == 0 ?
		    "database" : keys[i])) != NULL) {
			kw[n] = keys[i];
			val[n++] = v;
		}
	kw[n] = "replication";
	val[n++] = "database";
	kw[n] = "connect_timeout";
	val[n++] = "30";
	kw[n] = NULL;
	val[n] = NULL;
	conn = PQconnectdbParams(kw, val, 0);
	if (PQstatus(conn) != CONNECTION_OK)
		rc = errf(err, errlen, "%s", PQerrorMessage(conn));
	else if ((res = PQexec(conn, "IDENTIFY_SYSTEM")) == NULL ||
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = errf(err, errlen, "IDENTIFY_SYSTEM: %s", PQerrorMessage(conn));
		PQclear(res);
	} else
		PQclear(res);
	PQfinish(conn);
	if (rc == -1)
		err[strcspn(err, "\n")] = '\0';
	return rc;
}

int
pg_physical_check(struct engine_job *job, const struct pg_tools *t, char *err,
    size_t errlen)
{
	struct pg_facts	f;

	if (t->prepare(job, config_get(job->section, "database"), err, errlen) == -1 ||
	    pg_facts(job, t, &f, err, errlen) == -1 || pg_facts_ok(job, &f, err, errlen) == -1)
		return -1;
	if (replication_ok(job, err, errlen) == -1)
		return errprefix(err, errlen, "replication connection (the role needs "
		    "REPLICATION and pg_hba.conf a replication line)");
	if (strcmp(config_get(job->section, "wal_method"), "push") == 0 &&
	    strcmp(f.archive_mode, "off") == 0)
		return errf(err, errlen, "archive_mode is off: with wal_method = push set "
		    "archive_mode = on and archive_command = 'kbackup-runner -c CONF wal-push %%p'");
	return 0;
}
