/*
 * reconcile: the operator's loop.  For each BackupDefinition, make the
 * Secret, StatefulSet and Service in the operator's namespace match what
 * render.c says, writing only what differs; remove them when the definition
 * goes (finalizer kbackup.io/cleanup, and a sweep of labelled objects whose
 * definition is gone); report on the definition's status subresource and,
 * when something happened, in Events (events.h).
 *
 * Each full pass also asks every ready runner for its status, one request
 * per runner (runnerapi.h), and puts its last backups, next run and number
 * of backups in the definition's status.  BackupRuns and BackupRestores
 * (runs.h) are watched too, and those not final are polled every poll_s.
 *
 * Referenced Secrets are not watched: they are read again at every
 * reconcile of a definition (once per Secret per full pass), and a full
 * pass runs at every resync, so a changed Secret reaches the runner within
 * the resync period (--resync), or at once with --once.
 */
#ifndef KB_OPERATOR_RECONCILE_H
#define KB_OPERATOR_RECONCILE_H

#include <jansson.h>

#include "operator/events.h"
#include "operator/kube.h"
#include "operator/render.h"
#include "operator/runnerapi.h"

struct reconciler {
	struct kube		*kube;
	struct render_opts	 opts;		/* .secret is set by reconciler_init */
	long			 resync_s;
	long			 poll_s;	/* active BackupRuns/Restores polled this often */
	json_t			*secrets;	/* cache of one pass: "ns/name" -> data */
	unsigned long		 writes;	/* POST, PUT, DELETE sent (not Events) */
	struct events		 events;
	struct runnerapi	 runners;
	json_t			*active;	/* "PLURAL/NS/NAME" -> {metadata}: runs not final */
	volatile int		*leading;	/* the lease's held, or NULL (no election) */
};

void	 reconciler_init(struct reconciler *, struct kube *, const char *namespace,
	    json_t *image_pull_secrets, const char *version, long resync_s);
void	 reconciler_free(struct reconciler *);
/* A request that writes (counted in writes). */
int	 reconcile_write(struct reconciler *, const char *method, const char *path,
	    json_t *body, long *status, json_t **out, char *err, size_t errlen);

/*
 * One full pass: list everything, ask every ready runner for its status,
 * reconcile each definition, sweep, take every BackupRun and BackupRestore
 * that is not final one step.  Returns the number of objects that failed
 * (API errors), or -1 if listing failed.
 */
int	 reconcile_all(struct reconciler *);
/* Watches and reconciles until SIGTERM/SIGINT; returns the exit status. */
int	 reconcile_run(struct reconciler *);

#endif
