/*
 * snapfile: the file-to-stream and stream-to-file plumbing of the engines
 * whose tools only write files.  See snapfile.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "engines/engine.h"
#include "engines/snapfile.h"

int
snapfile_prepare(struct snapfile *sf, const char *workdir, const char *prefix, char *err,
    size_t errlen)
{
	char	*tmpl, *name;

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	if (mkdir_p(workdir, 0700, err, errlen) == -1)
		return -1;
	name = xasprintf("%s.XXXXXX", prefix);
	tmpl = path_join(workdir, name);
	free(name);
	if (mkdtemp(tmpl) == NULL) {
		errf(err, errlen, "%s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -1;
	}
	sf->dir = tmpl;
	sf->path = path_join(sf->dir, prefix);
	return 0;
}

int
snapfile_open(struct snapfile *sf, char *err, size_t errlen)
{
	if ((sf->fd = open(sf->path, O_RDONLY | O_CLOEXEC)) == -1)
		return errf(err, errlen, "%s: %s", sf->path, strerror(errno));
	if (unlink(sf->path) == -1)
		log_warn("cannot remove %s: %s", sf->path, strerror(errno));
	if (sf->dir != NULL && rmdir(sf->dir) == 0) {
		free(sf->dir);
		sf->dir = NULL;
	}
	return 0;
}

int
snapfile_run(struct snapfile *sf, struct child_args *a, struct child_args *env, char *err,
    size_t errlen)
{
	if (child_run_args(a, env, NULL, 0, err, errlen) == -1)
		return -1;
	return snapfile_open(sf, err, errlen);
}

int
snapfile_create(struct snapfile *sf, const char *target, char *err, size_t errlen)
{
	char	*copy, *dir, *base, *tmpl;

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	copy = xstrdup(target);
	base = xstrdup(basename(copy));
	free(copy);
	copy = xstrdup(target);
	dir = dirname(copy);
	/* Named after the target: what a killed restore left says whose it was. */
	tmpl = xasprintf("%s/.%.200s.kbtmp.XXXXXX", dir, base);
	free(copy);
	free(base);
	if ((sf->fd = mkstemp(tmpl)) == -1) {
		errf(err, errlen, "%s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -1;
	}
	if (fchmod(sf->fd, 0600) == -1)
		log_warn("chmod %s: %s", tmpl, strerror(errno));
	sf->path = tmpl;
	sf->target = xstrdup(target);
	return 0;
}

void
snapfile_remove_temps(const char *target)
{
	DIR		*d;
	struct dirent	*de;
	char		*copy, *dir, *prefix, *p;

	copy = xstrdup(target);
	prefix = xasprintf(".%.200s.kbtmp.", basename(copy));
	free(copy);
	copy = xstrdup(target);
	dir = dirname(copy);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			p = path_join(dir, de->d_name);
			if (unlink(p) == 0)
				log_kv(LOGL_INFO, "removed what a killed restore left", "file", p,
				    NULL);
			else if (errno != ENOENT)
				log_warn("cannot remove %s: %s", p, strerror(errno));
			free(p);
		}
		closedir(d);
	}
	free(copy);
	free(prefix);
}

int
snapfile_sync(struct snapfile *sf, char *err, size_t errlen)
{
	int	rc = 0;

	if (sf->fd == -1)
		return 0;
	if (fsync(sf->fd) == -1)
		rc = errf(err, errlen, "%s: %s", sf->path, strerror(errno));
	if (close(sf->fd) == -1 && rc == 0)
		rc = errf(err, errlen, "%s: %s", sf->path, strerror(errno));
	sf->fd = -1;
	return rc;
}

int
snapfile_commit(struct snapfile *sf, char *err, size_t errlen)
{
	char	*copy;
	int	 rc;

	if (rename(sf->path, sf->target) == -1)
		return errf(err, errlen, "rename to %s: %s", sf->target, strerror(errno));
	free(sf->path);
	sf->path = NULL;
	copy = xstrdup(sf->target);
	rc = fsync_dir(dirname(copy), err, errlen);
	free(copy);
	return rc;
}

/* The private directory may hold what a failed tool left (etcdctl's FILE.part). */
static void
remove_dir(const char *dir)
{
	dir_unlink_files(dir);
	if (rmdir(dir) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %s", dir, strerror(errno));
}

void
snapfile_discard(struct snapfile *sf)
{
	if (sf->fd != -1)
		close(sf->fd);
	sf->fd = -1;
	if (sf->path != NULL && unlink(sf->path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %s", sf->path, strerror(errno));
	if (sf->dir != NULL)
		remove_dir(sf->dir);
	free(sf->path);
	free(sf->dir);
	free(sf->target);
	sf->path = sf->dir = sf->target = NULL;
}

struct snapfile *
snapfile_job(struct engine_job *job)
{
	struct snapfile	*sf;

	if (job->priv == NULL) {
		sf = xcalloc(1, sizeof(*sf));
		sf->fd = -1;
		job->priv = sf;
	}
	return job->priv;
}

void
snapfile_job_end(struct engine_job *job)
{
	if (job->priv == NULL)
		return;
	snapfile_discard(job->priv);
	free(job->priv);
	job->priv = NULL;
}

int
snapfile_backup_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	snapfile_job_end(job);
	return 0;
}

int
snapfile_restore_begin(struct engine_job *job, const char *target, int *fd, char *err,
    size_t errlen)
{
	struct snapfile	*sf = snapfile_job(job);

	/*
	 * A restore holds the definition's lock (verify --restore has a target
	 * of its own run): a temporary of target's is a killed restore's, as
	 * large as the database, and would stay for ever.
	 */
	snapfile_remove_temps(target);
	if (snapfile_create(sf, target, err, errlen) == -1) {
		snapfile_job_end(job);
		return -1;
	}
	*fd = sf->fd;
	return 0;
}

int
snapfile_restore_ready(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	if (job->priv == NULL)
		return 0;
	if (aborted)
		errf(err, errlen, "aborted");
	else if (snapfile_sync(job->priv, err, errlen) == 0)
		return 1;
	snapfile_job_end(job);
	return -1;
}
