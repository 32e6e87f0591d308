/*
 * hooks: the [hooks] commands around a job.
 *
 *   before      runs before the job; if it fails, the job fails (not started)
 *   after       runs after the job whenever before succeeded, success or not
 *               (it is the undo of before: thaw what before froze)
 *   on_failure  runs after a failed job (and after "after")
 *
 * A command is split on blanks into words, like dump_options: no shell, no
 * quoting (words_split()).  It runs with child_run_timeout(): killed when it
 * outlives [hooks] timeout, secret variables removed from its
 * environment, stdout and stderr logged) and with the job described in
 * KBACKUP_HOOK, KBACKUP_JOB, KBACKUP_NAME, KBACKUP_NAMESPACE,
 * KBACKUP_ENGINE, KBACKUP_BACKUP_ID, KBACKUP_RESULT (success|failure, empty
 * for before), KBACKUP_ERROR, KBACKUP_RAW_BYTES, KBACKUP_STORED_BYTES,
 * KBACKUP_DURATION (seconds).
 */
#ifndef KB_HOOKS_H
#define KB_HOOKS_H

#include <stddef.h>
#include <stdint.h>

struct hook_job {
	const char	*job;		/* "backup", "restore" */
	const char	*name;
	const char	*namespace;
	const char	*engine;
	const char	*backup_id;	/* may be NULL */
	const char	*result;	/* "success", "failure", or NULL before the job */
	const char	*error;		/* last error line, or NULL */
	uint64_t	 raw_bytes;
	uint64_t	 stored_bytes;
	double		 duration;
	int64_t		 timeout;	/* seconds; 0: none ([hooks] timeout) */
};

/*
 * Runs one hook command (a NULL or blank command does nothing and succeeds).
 * which: "before", "after", "on_failure".  -1 if it could not run or exited
 * non-zero, with the reason in err.
 */
int	 hooks_run(const char *which, const char *command, const struct hook_job *,
	    char *err, size_t errlen);

#endif
