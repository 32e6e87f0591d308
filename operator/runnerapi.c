/*
 * runnerapi: requests to the runners' control API.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/kube.h"
#include "operator/render.h"
#include "operator/runnerapi.h"

#define KEY_BYTES	32

void
runnerapi_init(struct runnerapi *ra, const char *namespace, long timeout_s)
{
	memset(ra, 0, sizeof(*ra));
	ra->namespace = namespace;
	ra->addresses = json_object();
	ra->timeout_s = timeout_s;
}

void
runnerapi_free(struct runnerapi *ra)
{
	json_decref(ra->addresses);
	explicit_bzero(ra->key, sizeof(ra->key));
	memset(ra, 0, sizeof(*ra));
}

int
runnerapi_add_address(struct runnerapi *ra, const char *arg)
{
	const char	*eq = strchr(arg, '='), *slash = strchr(arg, '/');
	char		*id;

	if (eq == NULL || slash == NULL || slash > eq || slash == arg || slash + 1 == eq ||
	    strchr(eq + 1, ':') == NULL || strpbrk(eq + 1, "/ ") != NULL)
		return -1;
	id = xstrndup(arg, (size_t)(eq - arg));
	json_object_set_new(ra->addresses, id, json_string(eq + 1));
	free(id);
	return 0;
}

/* The key from the Secret's data; -1 when it is not there or too short. */
static int
key_of(struct runnerapi *ra, json_t *secret)
{
	const char	*b64 = json_string_value(json_object_get(json_object_get(secret,
			    "data"), "key"));
	char		*raw;
	size_t		 len;

	if (b64 == NULL || (raw = render_base64_decode(b64, &len)) == NULL)
		return -1;
	if (len < 16 || len > sizeof(ra->key)) {
		freezero(raw, len);
		return -1;
	}
	explicit_bzero(ra->key, sizeof(ra->key));
	memcpy(ra->key, raw, len);
	ra->keylen = len;
	freezero(raw, len);
	return 0;
}

static json_t *
key_secret(const char *ns)
{
	unsigned char	 key[KEY_BYTES];
	char		 text[KEY_BYTES + 1], *b64;
	json_t		*obj;
	size_t		 i;

	/* printable bytes: render_base64() takes a string */
	if (RAND_bytes(key, sizeof(key)) != 1)
		arc4random_buf(key, sizeof(key));
	for (i = 0; i < sizeof(key); i++)
		text[i] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
		    [key[i] % 64];
	text[KEY_BYTES] = '\0';
	b64 = render_base64(text);
	obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:{s:s}}",
	    "apiVersion", "v1", "kind", "Secret",
	    "metadata", "name", RUNNERAPI_KEY_SECRET, "namespace", ns,
	    "labels", "app.kubernetes.io/name", "kbackup-operator",
	    "app.kubernetes.io/component", "runner-api-key",
	    "type", "Opaque", "data", "key", b64);
	freezero(b64, strlen(b64));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(text, sizeof(text));
	return obj;
}

int
runnerapi_key_load(struct runnerapi *ra, struct kube *k, char *err, size_t errlen)
{
	char	*coll, *path;
	json_t	*obj, *body;
	long	 status;
	int	 attempt, rc = -1;

	coll = xasprintf("/api/v1/namespaces/%s/secrets", ra->namespace);
	path = xasprintf("%s/" RUNNERAPI_KEY_SECRET, coll);
	for (attempt = 0; attempt < 3 && rc == -1; attempt++) {
		if (kube_request(k, "GET", path, NULL, &status, &obj, err, errlen) == -1)
			break;
		if (status == 200) {
			rc = key_of(ra, obj);
			if (rc == -1)
				errf(err, errlen, "Secret %s/" RUNNERAPI_KEY_SECRET ": no key of "
				    "16 to %zu bytes in \"key\"", ra->namespace, sizeof(ra->key));
			render_wipe_secret(obj);
			json_decref(obj);
			break;
		}
		json_decref(obj);
		if (status != 404)
			break;
		body = key_secret(ra->namespace);
		if (kube_request(k, "POST", coll, body, &status, &obj, err, errlen) == 0 &&
		    status == 201) {
			log_kv(LOGL_INFO, "created", "kind", "Secret", "name",
			    RUNNERAPI_KEY_SECRET, NULL);
			rc = key_of(ra, body);
		}
		/* 409: another replica made it first; read that one */
		render_wipe_secret(body);
		render_wipe_secret(obj);
		json_decref(body);
		json_decref(obj);
		if (rc == -1 && status != 409)
			break;
	}
	free(coll);
	free(path);
	return rc;
}

void
runnerapi_target(const struct runnerapi *ra, const char *ns, const char *name,
    const char *uid, const char *runner, struct runner_target *t)
{
	char		*id = xasprintf("%s/%s", ns, name);
	const char	*addr = json_string_value(json_object_get(ra->addresses, id));

	free(id);
	if (addr != NULL)
		t->base = xasprintf("http://%s", addr);
	else
		t->base = xasprintf("http://%s.%s.svc:%d", runner, ra->namespace,
		    RENDER_METRICS_PORT);
	names_api_token(ra->key, ra->keylen, ns, name, uid, t->token);
}

void
runnerapi_target_free(struct runner_target *t)
{
	free(t->base);
	explicit_bzero(t->token, sizeof(t->token));
	t->base = NULL;
}

int
runnerapi_call(const struct runnerapi *ra, const struct runner_target *t,
    const char *method, const char *path, json_t *body, long *status, json_t **out,
    char *err, size_t errlen)
{
	struct kube	k;
	int		rc;

	/* kube's client: one request, no retries, the token in memory only */
	if (kube_init(&k, t->base, NULL, NULL, err, errlen) == -1)
		return -1;
	k.retries = 0;
	k.timeout_s = ra->timeout_s;
	k.token = xstrdup(t->token);
	rc = kube_request(&k, method, path, body, status, out, err, errlen);
	kube_free(&k);
	return rc;
}

void
runnerapi_message(long status, json_t *out, char *buf, size_t len)
{
	const char	*msg = json_string_value(json_object_get(out, "message"));

	if (msg != NULL)
		snprintf(buf, len, "%s", msg);
	else
		snprintf(buf, len, "HTTP %ld", status);
}

struct poll_all {
	const struct runnerapi	*ra;
	struct runner_poll	*polls;
	size_t			 n;
	size_t			 next;
	pthread_mutex_t		 lock;
};

static void *
poll_thread(void *arg)
{
	struct poll_all		*pa = arg;
	struct runner_poll	*p;

	for (;;) {
		pthread_mutex_lock(&pa->lock);
		p = pa->next < pa->n ? &pa->polls[pa->next++] : NULL;
		pthread_mutex_unlock(&pa->lock);
		if (p == NULL)
			return NULL;
		p->rc = runnerapi_call(pa->ra, &p->target, "GET", "/api/v1/status", NULL,
		    &p->status, &p->out, p->err, sizeof(p->err));
	}
}

void
runnerapi_poll(const struct runnerapi *ra, struct runner_poll *polls, size_t n)
{
	struct poll_all	pa;
	pthread_t	threads[RUNNERAPI_PARALLEL];
	size_t		i, nthreads = n < RUNNERAPI_PARALLEL ? n : RUNNERAPI_PARALLEL;
	size_t		started = 0;

	memset(&pa, 0, sizeof(pa));
	pa.ra = ra;
	pa.polls = polls;
	pa.n = n;
	pthread_mutex_init(&pa.lock, NULL);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[started], NULL, poll_thread, &pa) == 0)
			started++;
	if (started == 0)
		poll_thread(&pa);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&pa.lock);
}

json_t *
runnerapi_backups(json_t *st)
{
	json_t		*f = json_object(), *job, *loc, *newest, *b, *next;
	const char	*state;

	job = json_object_get(st, "lastBackup");
	if (json_is_object(job) && (state = json_string_value(json_object_get(job,
	    "state"))) != NULL) {
		b = json_pack("{s:O*, s:O*, s:O*, s:s}", "id", json_object_get(job, "backupId"),
		    "time", json_object_get(job, "completionTime"),
		    "size", json_object_get(job, "storedBytes"),
		    "result", strcmp(state, "succeeded") == 0 ? "Succeeded" : "Failed");
		if (json_is_string(json_object_get(job, "error")))
			json_object_set(b, "error", json_object_get(job, "error"));
		json_object_set_new(f, "lastBackup", b);
	}
	next = json_object_get(st, "nextRun");
	if (json_is_string(next) || json_is_null(next))
		json_object_set(f, "nextBackup", next);
	loc = json_array_get(json_object_get(st, "locations"), 0);
	if (json_is_integer(json_object_get(loc, "backups"))) {
		json_object_set(f, "backupsKept", json_object_get(loc, "backups"));
		newest = json_object_get(loc, "newest");
		if (json_is_object(newest))
			json_object_set_new(f, "lastSuccessfulBackup", json_pack("{s:O*, s:O*, "
			    "s:O*}", "id", json_object_get(newest, "id"),
			    "time", json_object_get(newest, "completionTime"),
			    "size", json_object_get(newest, "storedBytes")));
		else
			json_object_set_new(f, "lastSuccessfulBackup", json_null());
	}
	return f;
}
