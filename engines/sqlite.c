/*
 * sqlite: an SQLite database file, copied with the sqlite3 shell's .backup
 * (the online backup API: a consistent copy while the application writes).
 *
 * Backup: sqlite3 copies into a private temporary file in workdir, which is
 * opened, unlinked, and streamed.  Restore: the stream goes to a temporary
 * file next to the target, is fsynced, must pass PRAGMA integrity_check, and
 * is renamed over the target.  restore --database PATH restores to another
 * file.  verify --restore restores into a scratch file in the definition's
 * scratch directory (or a --target path that does not exist yet) and removes
 * it afterwards, with what SQLite and the restore put next to it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "engines/engine.h"
#include "engines/snapfile.h"

static const struct config_key sqlite_keys[] = {
	{ "path", CFG_PATH, 1, NULL, "the database file", 0, 0, NULL },
	{ "sqlite3", CFG_STRING, 0, "sqlite3", "the sqlite3 shell to run", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* A file name the shell cannot take for an option. */
static void
sq_add_path(struct child_args *a, const char *path)
{
	if (path[0] == '-')
		child_args_addf(a, "./%s", path);
	else
		child_args_add(a, path);
}

/*
 * sqlite3 -bail -readonly PATH with sql on stdin (not argv: generated SQL
 * can be longer than an argument may be): output in *out if out is not NULL.
 */
static int
sq_shell(struct engine_job *job, const char *path, const char *sql, char **out,
    char *err, size_t errlen)
{
	struct child_args	 a = { 0 };
	struct stat		 st;
	int			 rc;

	if (stat(path, &st) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errlen, "%s: not a regular file", path);
	child_args_add(&a, config_get(job->section, "sqlite3"));
	child_args_add(&a, "-bail");
	child_args_add(&a, "-readonly");
	child_args_add(&a, "-batch");
	child_args_add(&a, "-cmd");
	child_args_add(&a, ".timeout 30000");
	sq_add_path(&a, path);
	rc = child_run_input(child_args_list(&a), NULL, NULL, sql, out, 1024 * 1024, err,
	    errlen);
	child_args_free(&a);
	return rc;
}

/* A dot-command argument in double quotes: the shell undoes \\ and \". */
static char *
sq_quote(const char *s)
{
	return str_quote(s, '"');
}

static int
sq_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct snapfile	*sf = snapfile_job(job);
	char		*quoted, *cmd;
	int		 rc;

	if (snapfile_prepare(sf, job->tmpdir, "sqlite-backup", err, errlen) == -1) {
		snapfile_job_end(job);
		return -1;
	}
	quoted = sq_quote(sf->path);
	cmd = xasprintf(".backup %s", quoted);
	rc = sq_shell(job, config_get(job->section, "path"), cmd, NULL, err, errlen);
	free(cmd);
	free(quoted);
	if (rc == 0)
		rc = snapfile_open(sf, err, errlen);
	if (rc == -1) {
		/* backup_end() is not called when begin fails. */
		snapfile_job_end(job);
		return errprefix(err, errlen, "sqlite3 .backup");
	}
	*fd = sf->fd;
	return 0;
}

static const char *
sq_target(struct engine_job *job)
{
	return job->database != NULL ? job->database : config_get(job->section, "path");
}

/* A journal left next to the target would be applied to the new file. */
static int
sq_check_journals(const char *target, char *err, size_t errlen)
{
	static const char *const suffixes[] = { "-wal", "-journal", NULL };
	struct stat	 st;
	char		*p;
	size_t		 i;
	int		 busy;

	for (i = 0; suffixes[i] != NULL; i++) {
		p = xasprintf("%s%s", target, suffixes[i]);
		busy = stat(p, &st) == 0 && st.st_size > 0;
		if (busy) {
			errf(err, errlen, "%s exists and is not empty: stop the application "
			    "using the database (or checkpoint it) before restoring", p);
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

static int
sq_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct snapfile	*sf;
	const char	*target = sq_target(job);
	struct stat	 st;

	if (sq_check_journals(target, err, errlen) == -1 ||
	    snapfile_restore_begin(job, target, fd, err, errlen) == -1)
		return -1;
	sf = job->priv;
	if (stat(target, &st) == 0 && fchmod(sf->fd, st.st_mode & 07777) == -1)
		log_warn("chmod %s: %s", sf->path, strerror(errno));
	return 0;
}

/* A read-only look at a WAL-mode file leaves its -wal and -shm behind. */
static void
sq_remove_sidecars(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", NULL };
	char	*p;
	size_t	 i;

	for (i = 0; suffixes[i] != NULL; i++) {
		p = xasprintf("%s%s", path, suffixes[i]);
		if (unlink(p) == -1 && errno != ENOENT)
			log_warn("cannot remove %s: %s", p, strerror(errno));
		free(p);
	}
}

static int
sq_restore_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct snapfile	*sf = job->priv;
	char		*out = NULL;
	int		 rc;

	if ((rc = snapfile_restore_ready(job, aborted, err, errlen)) != 1)
		return rc;
	rc = sq_shell(job, sf->path, "PRAGMA integrity_check;", &out, err, errlen);
	sq_remove_sidecars(sf->path);
	if (rc == -1) {
		errprefix(err, errlen, "checking the restored file");
		goto out;
	}
	out[strcspn(out, "\n")] = '\0';
	rc = -1;
	if (strcmp(out, "ok") != 0) {
		errf(err, errlen, "the restored file fails PRAGMA integrity_check: %.200s", out);
		goto out;
	}
	if (sq_check_journals(sf->target, err, errlen) == -1 ||
	    snapfile_commit(sf, err, errlen) == -1)
		goto out;
	log_kv(LOGL_INFO, "database file replaced", "path", sf->target, NULL);
	rc = 0;
out:
	free(out);
	snapfile_job_end(job);
	return rc;
}

static int
sq_check(struct engine_job *job, char *err, size_t errlen)
{
	char	*out = NULL;
	int	 rc;

	/* The count is read, not logged: it is an answer, not a warning. */
	rc = sq_shell(job, config_get(job->section, "path"),
	    "SELECT count(*) FROM sqlite_master;", &out, err, errlen);
	free(out);
	return rc;
}

static int
sq_tool_version(struct engine_job *job, char *buf, size_t len)
{
	char	version[256];
	int	rc;

	rc = child_tool_version(version, sizeof(version), config_get(job->section, "sqlite3"),
	    "-version", NULL);
	if (rc == 0)
		snprintf(buf, len, "sqlite3 %s", version);
	return rc;
}

/*
 * verify --restore: the scratch database is BASE.db in scratchdir (created
 * if missing), a directory that no runner taking the lock empties.
 */
static int
sq_scratch_name(struct engine_job *job, const char *base, char *buf, size_t len, char *err,
    size_t errlen)
{
	int	n;

	if (mkdir_p(job->scratchdir, 0700, err, errlen) == -1)
		return -1;
	n = snprintf(buf, len, "%s/%s.db", job->scratchdir, base);
	if (n < 0 || (size_t)n >= len)
		return errf(err, errlen, "%s: the work directory's name is too long",
		    job->scratchdir);
	return 0;
}

/*
 * Every BASE that a file in scratchdir belongs to (BASE.db, its -wal, -shm
 * and -journal, a killed restore's .BASE.db.kbtmp.*), as BASE.db.
 */
static int
sq_scratch_list(struct engine_job *job, const char *prefix, char ***names, char *err,
    size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	char		*path, *base;
	const char	*name;
	size_t		 n = 0, i;

	*names = xcalloc(1, sizeof(**names));
	if ((d = opendir(job->scratchdir)) == NULL)
		return errno == ENOENT ? 0 :
		    errf(err, errlen, "%s: %s", job->scratchdir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		name = de->d_name + (de->d_name[0] == '.');
		if (strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		base = xstrndup(name, strcspn(name, "."));
		path = xasprintf("%s/%s.db", job->scratchdir, base);
		free(base);
		for (i = 0; i < n && strcmp((*names)[i], path) != 0; i++)
			;
		if (i < n) {
			free(path);
			continue;
		}
		*names = xreallocarray(*names, n + 2, sizeof(**names));
		(*names)[n++] = path;
		(*names)[n] = NULL;
	}
	closedir(d);
	return 0;
}

/* Any file (or link, or directory) at the path counts: it is not ours to remove. */
static int
sq_exists(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	struct stat	st;

	if (lstat(database, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return errf(err, errlen, "%s: %s", database, strerror(errno));
}

/*
 * Exact row counts: a count(*) per table, generated from sqlite_master
 * (without SQLite's own sqlite_% tables: the _ is escaped, not a wildcard).
 */
static int
sq_sanity(struct engine_job *job, const char *database, struct engine_sanity *s,
    char *err, size_t errlen)
{
	static const char generate[] =
	    "SELECT 'SELECT ' || quote(name) || ' || char(9) || count(*) FROM \"' || "
	    "replace(name, '\"', '\"\"') || '\";' FROM sqlite_master WHERE type = 'table' "
	    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name;";
	char	*sql = NULL, *counts = NULL;
	int	 rc;

	memset(s, 0, sizeof(*s));
	rc = sq_shell(job, database, generate, &sql, err, errlen);
	if (rc == 0 && *sql != '\0')
		rc = sq_shell(job, database, sql, &counts, err, errlen);
	free(sql);
	return engine_sanity_done(s, rc, counts);
}

/*
 * The file and what may be next to it: sanity's -wal and -shm, a journal,
 * the temporary file of a restore that was killed.
 */
static int
sq_drop(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	char	*p;

	sq_remove_sidecars(database);
	snapfile_remove_temps(database);
	p = xasprintf("%s-journal", database);
	if (unlink(p) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %s", p, strerror(errno));
	free(p);
	if (unlink(database) == -1 && errno != ENOENT)
		return errf(err, errlen, "remove %s: %s", database, strerror(errno));
	return 0;
}

static void
sq_pod(const struct config_section *section, struct engine_pod *pod)
{
	static char		 volume[4096];
	static const char	*volumes[2];
	const char		*path = config_get(section, "path");
	char			*copy, *slash;

	if (path == NULL)
		return;
	copy = xstrdup(path);
	if ((slash = strrchr(copy, '/')) != NULL && slash != copy)
		*slash = '\0';
	snprintf(volume, sizeof(volume), "data:%s", copy);
	free(copy);
	volumes[0] = volume;
	volumes[1] = NULL;
	pod->volumes = volumes;
}

/* What the config schema and the operator read. */
const struct engine_desc engine_sqlite_desc = {
	.name = "sqlite",
	.keys = sqlite_keys,
	.pod = sq_pod,
};

const struct engine_ops engine_sqlite = {
	.desc = &engine_sqlite_desc,
	.backup_begin = sq_backup_begin,
	.backup_end = snapfile_backup_end,
	.restore_begin = sq_restore_begin,
	.restore_end = sq_restore_end,
	.check = sq_check,
	.tool_version = sq_tool_version,
	.scratch_name = sq_scratch_name,
	.scratch_list = sq_scratch_list,
	.exists = sq_exists,
	.sanity = sq_sanity,
	.drop = sq_drop,
};
