/*
 * lease: acquire, renew and release a Lease.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/lease.h"

/* TRY_CONFLICT: a write got 409, the record changed meanwhile: look again */
enum { TRY_ERROR = -1, TRY_OTHER = 0, TRY_HELD = 1, TRY_CONFLICT = 2 };

static long
elapsed_ms(const struct timespec *since)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* metav1.MicroTime: RFC 3339 with microseconds, UTC. */
static json_t *
micro_time(void)
{
	struct timespec	now;
	struct tm	tm;
	char		buf[96];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, now.tv_nsec / 1000);
	return json_string(buf);
}

int
lease_init(struct lease *l, const struct kube *from, const char *namespace,
    const char *identity, long duration_ms, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	if (duration_ms < 1000)
		return errf(err, errlen, "lease duration: at least 1s");
	kube_copy(&l->kube, from);
	l->kube.retries = 0;
	l->namespace = xstrdup(namespace);
	l->identity = xstrdup(identity);
	l->duration_ms = duration_ms;
	l->renew_ms = duration_ms * 2 / 3;
	l->retry_ms = duration_ms / 7 > 100 ? duration_ms / 7 : 100;
	l->kube.timeout_s = l->renew_ms / 1000 > 1 ? l->renew_ms / 1000 : 1;
	l->coll = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases",
	    namespace);
	l->path = xasprintf("%s/" LEASE_NAME, l->coll);
	return 0;
}

void
lease_free(struct lease *l)
{
	kube_free(&l->kube);
	free(l->coll);
	free(l->path);
	free(l->namespace);
	free(l->identity);
	free(l->seen_rv);
	memset(l, 0, sizeof(*l));
}

/* Notes obj as the record last seen, and when it changed. */
static void
seen(struct lease *l, json_t *obj)
{
	const char	*rv = json_string_value(json_object_get(json_object_get(obj,
			    "metadata"), "resourceVersion"));

	if (rv == NULL || (l->seen_rv != NULL && strcmp(rv, l->seen_rv) == 0))
		return;
	free(l->seen_rv);
	l->seen_rv = xstrdup(rv);
	clock_gettime(CLOCK_MONOTONIC, &l->seen_at);
}

static json_t *
spec_ours(struct lease *l, json_t *old)
{
	const char	*holder = json_string_value(json_object_get(old, "holderIdentity"));
	int		 mine = holder != NULL && strcmp(holder, l->identity) == 0;
	json_int_t	 transitions = json_integer_value(json_object_get(old,
			    "leaseTransitions"));
	json_t		*spec;

	spec = json_pack("{s:s, s:I, s:o, s:I}", "holderIdentity", l->identity,
	    "leaseDurationSeconds", (json_int_t)((l->duration_ms + 999) / 1000),
	    "renewTime", micro_time(),
	    "leaseTransitions", old == NULL || mine ? transitions : transitions + 1);
	if (mine && json_object_get(old, "acquireTime") != NULL)
		json_object_set(spec, "acquireTime", json_object_get(old, "acquireTime"));
	else
		json_object_set_new(spec, "acquireTime", micro_time());
	return spec;
}

/* Creates the Lease, or takes or renews it when that is allowed; err on TRY_ERROR. */
static int
lease_try(struct lease *l, char *err, size_t errlen)
{
	json_t		*obj, *out = NULL, *spec;
	const char	*holder;
	long		 status, dur_ms;
	int		 rc = TRY_ERROR;

	if (kube_request(&l->kube, "GET", l->path, NULL, &status, &obj, err,
	    errlen) == -1 || (status != 200 && status != 404)) {
		json_decref(obj);
		return TRY_ERROR;
	}
	if (status == 404) {
		json_decref(obj);
		obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}",
		    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
		    "metadata", "name", LEASE_NAME, "namespace", l->namespace,
		    "spec", spec_ours(l, NULL));
		if (kube_request(&l->kube, "POST", l->coll, obj, &status, &out, err,
		    errlen) == 0)
			rc = status == 201 ? TRY_HELD : status == 409 ? TRY_CONFLICT : TRY_ERROR;
		goto done;
	}
	seen(l, obj);
	spec = json_object_get(obj, "spec");
	holder = json_string_value(json_object_get(spec, "holderIdentity"));
	dur_ms = json_integer_value(json_object_get(spec, "leaseDurationSeconds")) * 1000;
	if (holder != NULL && *holder != '\0' && strcmp(holder, l->identity) != 0 &&
	    elapsed_ms(&l->seen_at) < (dur_ms > 0 ? dur_ms : l->duration_ms)) {
		json_decref(obj);
		return TRY_OTHER;
	}
	json_object_set_new(obj, "spec", spec_ours(l, spec));
	if (kube_request(&l->kube, "PUT", l->path, obj, &status, &out, err,
	    errlen) == 0)
		rc = status == 200 ? TRY_HELD : status == 409 ? TRY_CONFLICT : TRY_ERROR;
done:
	if (rc == TRY_HELD)
		seen(l, out);
	json_decref(out);
	json_decref(obj);
	return rc;
}

static void
pause_ms(struct lease *l, long ms, volatile sig_atomic_t *stop)
{
	for (; ms > 0 && !l->stop && (stop == NULL || !*stop); ms -= 50)
		usleep((useconds_t)(ms < 50 ? ms : 50) * 1000);
}

int
lease_acquire(struct lease *l, volatile sig_atomic_t *stop)
{
	char	err[KB_ERRLEN];
	int	said = 0, failing = 0, rc;

	while (!*stop) {
		if ((rc = lease_try(l, err, sizeof(err))) == TRY_HELD) {
			clock_gettime(CLOCK_MONOTONIC, &l->renewed);
			l->held = 1;
			log_kv(LOGL_INFO, "leading: holding the lease", "lease", l->path,
			    "identity", l->identity, NULL);
			return 0;
		}
		/* an API that refuses (403: no RBAC for leases) is said once per streak */
		if (rc == TRY_ERROR && !failing)
			log_kv(LOGL_WARN, "lease not readable or writable", "error", err, NULL);
		failing = rc == TRY_ERROR;
		if (!said)
			log_kv(LOGL_INFO, "waiting for the lease", "lease", l->path, "identity",
			    l->identity, NULL);
		said = 1;
		pause_ms(l, l->retry_ms, stop);
	}
	return -1;
}

static void *
keep_thread(void *arg)
{
	struct lease	*l = arg;
	char		 err[KB_ERRLEN];
	int		 rc;

	while (!l->stop) {
		pause_ms(l, l->retry_ms, NULL);
		if (l->stop)
			break;
		if ((rc = lease_try(l, err, sizeof(err))) == TRY_HELD) {
			clock_gettime(CLOCK_MONOTONIC, &l->renewed);
			continue;
		}
		if (rc == TRY_ERROR)
			log_kv(LOGL_WARN, "lease not renewed", "error", err, NULL);
		if (rc == TRY_OTHER || elapsed_ms(&l->renewed) >= l->renew_ms) {
			l->held = 0;
			log_kv(LOGL_ERROR, rc == TRY_OTHER ? "lost the lease: another holder" :
			    "lost the lease: not renewed within the renew deadline", "lease",
			    l->path, "identity", l->identity, NULL);
			break;
		}
	}
	return NULL;
}

int
lease_keep(struct lease *l)
{
	if (pthread_create(&l->thread, NULL, keep_thread, l) != 0)
		return -1;
	l->thread_started = 1;
	return 0;
}

void
lease_release(struct lease *l)
{
	json_t		*obj, *out = NULL, *spec;
	const char	*holder;
	char		 err[KB_ERRLEN];
	long		 status;

	l->stop = 1;
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	l->thread_started = 0;
	if (!l->held)
		return;
	l->held = 0;
	if (kube_request(&l->kube, "GET", l->path, NULL, &status, &obj, err,
	    sizeof(err)) == -1 || status != 200) {
		json_decref(obj);
		return;
	}
	spec = json_object_get(obj, "spec");
	holder = json_string_value(json_object_get(spec, "holderIdentity"));
	if (holder != NULL && strcmp(holder, l->identity) == 0) {
		/* as client-go: nobody holds it, for a second; a follower takes it next */
		json_object_set_new(obj, "spec", json_pack("{s:i, s:o, s:o, s:I}",
		    "leaseDurationSeconds", 1, "renewTime", micro_time(),
		    "acquireTime", micro_time(), "leaseTransitions",
		    json_integer_value(json_object_get(spec, "leaseTransitions"))));
		if (kube_request(&l->kube, "PUT", l->path, obj, &status, &out, err,
		    sizeof(err)) == 0 && status == 200)
			log_kv(LOGL_INFO, "lease released", "lease", l->path, NULL);
		json_decref(out);
	}
	json_decref(obj);
}
