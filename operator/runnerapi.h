/*
 * runnerapi: the operator's side of the runners' control API
 * (runner/service/api.h): where a definition's runner answers, its token,
 * one request, and the status of many runners at once.
 *
 * Address: the runner's Service, http://RUNNER.OPNS.svc:9187, resolved by
 * the cluster's DNS (the Service's name is the runner's objects' name; the
 * port is the metrics port, which the API shares).  --runner-address
 * NS/NAME=HOST:PORT overrides it per definition: an operator outside the
 * cluster (kubectl port-forward), and the tests, whose runners listen on
 * 127.0.0.1.
 *
 * Token: names_api_token() under the operator's key, which lives in the
 * Secret kbackup-operator-api-key (key "key") in the operator's namespace,
 * made at random by the first operator that finds none.  Every replica
 * reads the same key, so every replica renders the same tokens.
 *
 * Requests are never retried here and end within the timeout: a runner that
 * hangs costs one timeout per request, and a pass sends one status request
 * per runner, so nothing piles up behind it.
 */
#ifndef KB_OPERATOR_RUNNERAPI_H
#define KB_OPERATOR_RUNNERAPI_H

#include <stddef.h>

#include <jansson.h>

#include "operator/kube.h"
#include "operator/names.h"

#define RUNNERAPI_KEY_SECRET	"kbackup-operator-api-key"
#define RUNNERAPI_KEY_MAX	64
#define RUNNERAPI_PARALLEL	8	/* status requests in flight at once */

struct runnerapi {
	const char	*namespace;	/* the operator's */
	json_t		*addresses;	/* "NS/NAME" -> "HOST:PORT" */
	long		 timeout_s;
	unsigned char	 key[RUNNERAPI_KEY_MAX];
	size_t		 keylen;	/* 0: not loaded */
};

void	 runnerapi_init(struct runnerapi *, const char *namespace, long timeout_s);
void	 runnerapi_free(struct runnerapi *);
/* Adds "NS/NAME=HOST:PORT" to the overrides; -1 if it is not of that form. */
int	 runnerapi_add_address(struct runnerapi *, const char *arg);

/*
 * Reads the key from its Secret, creating it when missing (the caller is
 * the leader).  0, or -1 with err on an API error.
 */
int	 runnerapi_key_load(struct runnerapi *, struct kube *, char *err, size_t errlen);

/* A definition's runner: its base URL and its token. */
struct runner_target {
	char	*base;			/* http://HOST:PORT */
	char	 token[NAMES_HASH_HEX];
};

/* runner: the name of the runner's objects (status.runner). */
void	 runnerapi_target(const struct runnerapi *, const char *ns, const char *name,
	    const char *uid, const char *runner, struct runner_target *);
void	 runnerapi_target_free(struct runner_target *);

/*
 * One request.  Returns 0 with *status and *out (the JSON answer, or NULL)
 * when the runner answered, -1 with err when it did not (in time).
 */
int	 runnerapi_call(const struct runnerapi *, const struct runner_target *,
	    const char *method, const char *path, json_t *body, long *status,
	    json_t **out, char *err, size_t errlen);

/* GET /api/v1/status of each target at once, RUNNERAPI_PARALLEL at a time. */
struct runner_poll {
	struct runner_target	 target;
	long			 status;
	json_t			*out;		/* the answer, NULL when none */
	char			 err[256];
	int			 rc;
};
void	 runnerapi_poll(const struct runnerapi *, struct runner_poll *, size_t n);

/*
 * A BackupDefinition's status members from a runner's status document:
 * lastBackup {id, time, size, result, error} (the last backup job that
 * ended), lastSuccessfulBackup {id, time, size} and backupsKept (the first
 * location: what the storage holds), nextBackup.  A member the runner does
 * not know (a job history lost with its pod) is left out, to be kept as it
 * was; one it knows is gone is null.
 */
json_t	*runnerapi_backups(json_t *status);

/* "error: message" of an answer that is not 2xx, or "HTTP STATUS". */
void	 runnerapi_message(long status, json_t *out, char *buf, size_t len);

#endif
