/*
 * lease: leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection does it, so that two operator replicas are safe and quiet:
 * only the holder reconciles and writes; the others wait.
 *
 * The Lease (--namespace, name kbackup-operator) names its holder and when
 * the holder last renewed it.  A candidate takes it when it does not exist,
 * names nobody (released), or has not changed for leaseDurationSeconds by
 * the candidate's own clock (the time it last saw the record change, not
 * the renewTime written by another machine's clock).  Every write carries
 * the resourceVersion read: of two candidates one gets 409 and stays a
 * follower.  The holder renews every retry period; when it cannot renew
 * for the renew deadline (2/3 of the duration), or finds another holder,
 * it has lost the lease: the write gate closes at once (kube.h: every
 * write of the operator's client is refused from then on) and the caller
 * exits, to start again as a candidate.  A holder that stops cleanly
 * releases the lease, so that a follower takes over at its next try.
 */
#ifndef KB_OPERATOR_LEASE_H
#define KB_OPERATOR_LEASE_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "operator/kube.h"

#define LEASE_NAME	"kbackup-operator"

struct lease {
	struct kube	 kube;		/* its own: short timeouts, no retries, no gate */
	char		*coll;		/* .../namespaces/NS/leases */
	char		*path;		/* coll/NAME */
	char		*namespace;
	char		*identity;
	long		 duration_ms;
	long		 renew_ms;	/* renew deadline */
	long		 retry_ms;
	volatile int	 held;		/* the write gate of the operator's client */
	volatile int	 stop;
	int		 thread_started;
	pthread_t	 thread;
	char		*seen_rv;	/* the record last seen, and when (monotonic) */
	struct timespec	 seen_at;
	struct timespec	 renewed;	/* the last renewal that went through */
};

/*
 * from: the operator's client, copied.  identity: the pod's name and a
 * random suffix (unique per process).
 */
int	 lease_init(struct lease *, const struct kube *from, const char *namespace,
	    const char *identity, long duration_ms, char *err, size_t errlen);
void	 lease_free(struct lease *);
/* Tries every retry period until the lease is held (0) or *stop is set (-1). */
int	 lease_acquire(struct lease *, volatile sig_atomic_t *stop);
/* Renews in a thread while held; lease->held goes 0 when it is lost. */
int	 lease_keep(struct lease *);
/* Stops renewing and, while still the holder, releases the lease. */
void	 lease_release(struct lease *);

#endif
