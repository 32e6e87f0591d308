/*
 * events: core/v1 Events about BackupDefinitions, for `kubectl describe`.
 *
 * An Event is posted in the definition's namespace with the definition as
 * involvedObject.  Events are best effort: one that cannot be posted is
 * logged (a warning the first time, then at debug level until one goes
 * through) and never fails a reconcile.
 *
 * Callers post only when something happened: objects created or updated,
 * the Ready condition changed.  Failures that are retried (API errors) go
 * through events_failed(), which remembers the last message per definition
 * in memory and posts a repeat only when the message changes.
 */
#ifndef KB_OPERATOR_EVENTS_H
#define KB_OPERATOR_EVENTS_H

#include <time.h>

#include <jansson.h>

#include "operator/kube.h"

#define EVENTS_COMPONENT	"kbackup-operator"
#define EVENTS_MESSAGE_MAX	1024	/* what events.k8s.io allows a note */
#define EVENTS_INSTANCE_MAX	128	/* reportingInstance */

struct events {
	struct kube	*kube;
	char		*instance;	/* reportingInstance: the pod's name */
	json_t		*failed;	/* "ns/name" -> last ReconcileFailed message */
	unsigned long	 posted;
	int		 quiet;		/* a failure was warned about */
};

void	 events_init(struct events *, struct kube *);
void	 events_free(struct events *);

/*
 * The Event object (a new reference): type "Normal" or "Warning", reason
 * CamelCase, about the definition def, at now.
 */
json_t	*events_build(const char *instance, json_t *def, const char *type,
	    const char *reason, const char *message, const struct timespec *now);

/* Posts one Event about def. */
void	 events_post(struct events *, json_t *def, const char *type,
	    const char *reason, const char *message);
/* A Warning ReconcileFailed, unless message was the last one for def. */
void	 events_failed(struct events *, json_t *def, const char *message);
/* def reconciled (or went): a later failure is news again. */
void	 events_forget(struct events *, const char *ns, const char *name);

#endif
