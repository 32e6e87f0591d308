/*
 * runs: BackupRun and BackupRestore, on-demand jobs as objects.  Each asks
 * its definition's runner, through the runner's control API
 * (runnerapi.h), for one backup or one restore, and follows it to its end:
 *
 *   Pending    not asked yet, or the runner cannot take it now: busy with
 *              another job (409: asked again at each poll until it can, so
 *              two jobs never run at once), not ready, unreachable
 *   Running    the runner took it: status.jobId names the job
 *   Succeeded  the job ended well: backupId, sizes, times
 *   Failed     it did not, or the object is invalid, names no definition,
 *              or the runner no longer knows the job (JobLost)
 *
 * Succeeded and Failed are final: such an object is never sent again.
 *
 * Never twice: the request carries the object's UID as its requestId, and
 * the runner answers a requestId it has seen with the job it started for
 * it (kept in the runner's state directory, across its restarts).  So when
 * the operator dies after asking and before status.jobId is written, or
 * the write fails, the next operator asks again and gets the same job.
 * What is left: the runner's pod replaced (a new state directory) in that
 * same window: the request then starts a job on the new runner.
 */
#ifndef KB_OPERATOR_RUNS_H
#define KB_OPERATOR_RUNS_H

#include <jansson.h>

#include "operator/reconcile.h"
#include "operator/resources.h"

#define RUN_PLURAL	"backupruns"
#define RESTORE_PLURAL	"backuprestores"

/*
 * One step for the object obj (a reference is taken; it is read again
 * first, events may be stale).  busy: "NS/DEFINITION" of runners that
 * answered 409 in this round, not asked again in it.  Returns 1 while the
 * object is still active (poll it again), 0 when it is final or gone, -1
 * after an API error.
 */
int	 runs_step(struct reconciler *, enum run_kind, json_t *obj, json_t *busy);
/* The plural of kind, and the kind of a plural (-1: neither). */
const char *runs_plural(enum run_kind);
int	 runs_kind(const char *plural);
/* 1 if the object's phase is final (Succeeded or Failed). */
int	 runs_final(json_t *obj);

#endif
