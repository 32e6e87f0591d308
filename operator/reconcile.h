/*
 * reconcile: the operator's loop.  For each BackupDefinition, make the
 * Secret, StatefulSet and Service in the operator's namespace match what
 * render.c says, writing only what differs; remove them when the definition
 * goes (finalizer kbackup.io/cleanup, and a sweep of labelled objects whose
 * definition is gone); report on the definition's status subresource and,
 * when something happened, in Events (events.h).
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

struct reconciler {
	struct kube		*kube;
	struct render_opts	 opts;		/* .secret is set by reconciler_init */
	long			 resync_s;
	json_t			*secrets;	/* cache of one pass: "ns/name" -> data */
	unsigned long		 writes;	/* POST, PUT, DELETE sent (not Events) */
	struct events		 events;
};

void	 reconciler_init(struct reconciler *, struct kube *, const char *namespace,
	    json_t *image_pull_secrets, const char *version, long resync_s);
void	 reconciler_free(struct reconciler *);

/* One full pass: list everything, reconcile each definition, sweep.  Returns
 * the number of definitions that failed (API errors), or -1 if listing failed. */
int	 reconcile_all(struct reconciler *);
/* Watches and reconciles until SIGTERM/SIGINT; returns the exit status. */
int	 reconcile_run(struct reconciler *);

#endif
