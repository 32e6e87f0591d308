/*
 * kube: a small Kubernetes API client on libcurl.
 *
 * JSON in, JSON out: kube_request() sends one request and returns the
 * status and the parsed body; transport errors, 429 and 5xx are retried
 * with exponential backoff (base doubled each time, capped, with jitter),
 * so callers only see answers that mean something (2xx, 404, 409, 410, 422,
 * ...) or a final failure.  kube_watch() streams a watch: one JSON event per
 * line, handed to a callback as the bytes arrive.
 *
 * Credentials: in-cluster (the service account token, re-read when it may
 * have been rotated, the cluster CA, KUBERNETES_SERVICE_HOST/PORT) or given
 * (--server, --token-file, --ca-file).  The token never reaches a log line
 * or an error message.
 */
#ifndef KB_OPERATOR_KUBE_H
#define KB_OPERATOR_KUBE_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define KUBE_SA_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"

struct kube {
	char		*server;	/* https://HOST:PORT, no trailing '/' */
	char		*token_file;	/* NULL: no Authorization */
	char		*token;
	time_t		 token_read;
	char		*ca_file;	/* NULL: system CAs */
	int		 retries;	/* attempts after the first */
	long		 backoff_ms;	/* first wait */
	long		 backoff_max_ms;
	long		 timeout_s;	/* per request (not watches) */
	unsigned long	 nrequests;	/* sent, including retries */
	unsigned long	 nretries;
	/*
	 * When set and 0, every request but GET is refused without being
	 * sent: the leader election's gate (lease.h), closed when the lease
	 * is lost, so that a deposed leader writes nothing more.
	 */
	volatile int	*write_gate;
	char		*user_agent;	/* NULL: "kbackup-operator" */
};

/*
 * server NULL: in cluster.  token_file/ca_file NULL: the service account's
 * when in cluster, none otherwise.
 */
int	 kube_init(struct kube *, const char *server, const char *token_file,
	    const char *ca_file, char *err, size_t errlen);
void	 kube_free(struct kube *);
/*
 * dst: a client of its own with src's server, credentials and settings, for
 * another thread (the token is read again; write_gate is not copied).
 */
void	 kube_copy(struct kube *dst, const struct kube *src);
/* The namespace of the service account (in cluster), or NULL. */
char	*kube_sa_namespace(void);

/*
 * One request: method, path with query ("/api/v1/namespaces/x/secrets/y"),
 * body (NULL for none; not stolen).  Returns 0 with *status and *out (the
 * body, or NULL) after an answer; -1 when no useful answer came after all
 * retries.  For answers other than 2xx, err holds "METHOD PATH: STATUS
 * REASON: MESSAGE" from the Status object.
 */
int	 kube_request(struct kube *, const char *method, const char *path, json_t *body,
	    long *status, json_t **out, char *err, size_t errlen);

/*
 * Watch event callback: type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) and
 * object (borrowed).  Return non-zero to stop watching.
 */
typedef int (*kube_event_fn)(void *arg, const char *type, json_t *object);

/*
 * Streams a watch (path must hold watch=1&resourceVersion=...).  Returns 0
 * when the server ended the stream or the callback asked to stop, -1 on an
 * error (with *status when there was an answer: 410 means list again).
 * stop, when set by another thread, ends the watch within a second.
 */
int	 kube_watch(struct kube *, const char *path, kube_event_fn, void *arg,
	    volatile int *stop, long *status, char *err, size_t errlen);

/* Percent-encodes s for a query value; a new string. */
char	*kube_escape(const char *s);

#endif
