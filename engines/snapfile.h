/*
 * snapfile: engines whose tools write a file rather than a stream (SQLite's
 * .backup, redis-cli --rdb, etcdctl snapshot save) and restores that must
 * replace a file in one step.
 *
 * Backup: the tool writes into a private directory in workdir; the file is
 * opened and unlinked at once, so the open descriptor is all that is left
 * and nothing stays on disk whatever happens next.
 *
 * Restore: the stream goes to a temporary file in the target's directory,
 * is fsynced, may be checked, and is renamed over the target.
 */
#ifndef KB_SNAPFILE_H
#define KB_SNAPFILE_H

struct child_args;
struct engine_job;

struct snapfile {
	char	*dir;		/* the private directory (backup), or NULL */
	char	*path;		/* the file */
	char	*target;	/* restore: what path replaces */
	int	 fd;
};

/* Backup: a fresh 0700 directory in workdir; sf->path names a file in it (not created). */
int	 snapfile_prepare(struct snapfile *, const char *workdir, const char *prefix,
	    char *err, size_t errlen);
/* Backup: opens sf->path for reading, unlinks it and the directory; sf->fd is the stream. */
int	 snapfile_open(struct snapfile *, char *err, size_t errlen);
/* Backup: runs the tool (a and env, then freed; a names sf->path), then snapfile_open(). */
int	 snapfile_run(struct snapfile *, struct child_args *a, struct child_args *env,
	    char *err, size_t errlen);

/* Restore: a 0600 temp file .TARGET.kbtmp.XXXXXX next to target; sf->fd to write into. */
int	 snapfile_create(struct snapfile *, const char *target, char *err, size_t errlen);
/* Restore: removes every .TARGET.kbtmp.* next to target (what killed restores left). */
void	 snapfile_remove_temps(const char *target);
/* Restore: fsync and close sf->fd. */
int	 snapfile_sync(struct snapfile *, char *err, size_t errlen);
/* Restore: rename sf->path over sf->target, fsync the directory. */
int	 snapfile_commit(struct snapfile *, char *err, size_t errlen);

/* Closes, removes whatever is left (file, directory), frees.  Safe to repeat. */
void	 snapfile_discard(struct snapfile *);

/* The job's state (job->priv) of an engine whose job is one snapfile: made on first use. */
struct snapfile	*snapfile_job(struct engine_job *);
/* Discards and frees the job's snapfile, if any: its backup_end() and restore_end(). */
void	 snapfile_job_end(struct engine_job *);
/* restore_begin() for these engines: the job's snapfile for target, *fd to write into. */
int	 snapfile_restore_begin(struct engine_job *, const char *target, int *fd,
	    char *err, size_t errlen);
/*
 * restore_end()'s first step: 1 if the job's file was written whole (not
 * aborted) and is synced, to be checked and put in place; 0 if the job has no
 * file; -1 (err filled, the job's snapfile freed) if aborted or not synced.
 */
int	 snapfile_restore_ready(struct engine_job *, int aborted, char *err,
	    size_t errlen);
/* An engine_ops backup_end() for these engines: the stream was all there was. */
int	 snapfile_backup_end(struct engine_job *, int aborted, char *err, size_t errlen);

#endif
