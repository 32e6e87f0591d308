/*
 * reconcile: list/watch, compare desired with actual, write the difference.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/events.h"
#include "operator/kube.h"
#include "operator/names.h"
#include "operator/reconcile.h"
#include "operator/render.h"
#include "operator/resources.h"
#include "operator/runnerapi.h"
#include "operator/runs.h"

#define CONFLICT_RETRIES	5
#define LIST_LIMIT		500
#define DEF_PLURAL		"backupdefinitions"
#define LOC_PLURAL		"backupstoragelocations"

static const struct kind {
	const char	*name;
	const char	*prefix;	/* before /namespaces/NS */
	const char	*plural;
} kinds[] = {
	{ "Secret", "/api/v1", "secrets" },
	{ "StatefulSet", "/apis/apps/v1", "statefulsets" },
	{ "Service", "/api/v1", "services" },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

enum { APPLIED_NOTHING, APPLIED_CREATED, APPLIED_UPDATED };

static volatile sig_atomic_t	stopping;

/* Secrets the definitions reference, read through a cache of one pass. */

static int
secret_lookup(void *arg, const char *ns, const char *name, const char *key,
    char **value, char *err, size_t errlen)
{
	struct reconciler	*r = arg;
	char			*id = xasprintf("%s/%s", ns, name), *path;
	json_t			*data, *obj;
	const char		*b64;
	long			 status;
	size_t			 len;

	if ((data = json_object_get(r->secrets, id)) == NULL) {
		path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ns, name);
		if (kube_request(r->kube, "GET", path, NULL, &status, &obj, err,
		    errlen) == -1) {
			free(path);
			free(id);
			return -1;
		}
		free(path);
		if (status == 404 || status == 403)
			data = json_null();	/* 403: no RoleBinding in ns; said in the status */
		else if (status == 200)
			data = json_incref(json_object_get(obj, "data"));
		else {
			json_decref(obj);
			free(id);
			return -1;
		}
		if (data == NULL)
			data = json_object();
		json_object_set_new(r->secrets, id, data);
		json_decref(obj);	/* data is still held by the cache */
	}
	free(id);
	if ((b64 = json_string_value(json_object_get(data, key))) == NULL)
		return 1;
	if ((*value = render_base64_decode(b64, &len)) == NULL || strlen(*value) != len) {
		if (*value != NULL)
			freezero(*value, len);
		*value = NULL;
		return errf(err, errlen, "Secret %s/%s key %s: not text", ns, name, key);
	}
	return 0;
}

void
reconciler_init(struct reconciler *r, struct kube *k, const char *namespace,
    json_t *image_pull_secrets, const char *version, long resync_s)
{
	memset(r, 0, sizeof(*r));
	r->kube = k;
	r->opts.namespace = namespace;
	r->opts.image_pull_secrets = image_pull_secrets;
	r->opts.version = version;
	r->opts.secret = secret_lookup;
	r->opts.secret_arg = r;
	r->resync_s = resync_s;
	r->poll_s = 10;
	r->secrets = json_object();
	r->active = json_object();
	events_init(&r->events, k);
	runnerapi_init(&r->runners, namespace, 5);
}

static void
secrets_forget(struct reconciler *r)
{
	const char	*key;
	json_t		*data, *v;
	const char	*k2;

	/* wipe the cached values before they are freed */
	json_object_foreach(r->secrets, key, data)
		json_object_foreach(data, k2, v)
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v),
				    json_string_length(v));
	json_object_clear(r->secrets);
}

void
reconciler_free(struct reconciler *r)
{
	secrets_forget(r);
	json_decref(r->secrets);
	json_decref(r->active);
	events_free(&r->events);
	runnerapi_free(&r->runners);
}

int
reconcile_write(struct reconciler *r, const char *method, const char *path, json_t *body,
    long *status, json_t **out, char *err, size_t errlen)
{
	r->writes++;
	return kube_request(r->kube, method, path, body, status, out, err, errlen);
}

/* 1 if every member of want is in have with the same value (arrays: same length). */
static int
subset(json_t *want, json_t *have)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	if (have == NULL)
		return 0;
	if (json_is_object(want)) {
		if (!json_is_object(have))
			return 0;
		json_object_foreach(want, key, v)
			if (!subset(v, json_object_get(have, key)))
				return 0;
		return 1;
	}
	if (json_is_array(want)) {
		if (!json_is_array(have) || json_array_size(want) != json_array_size(have))
			return 0;
		json_array_foreach(want, i, v)
			if (!subset(v, json_array_get(have, i)))
				return 0;
		return 1;
	}
	return json_equal(want, have);
}

/* The PUT body: desired, with what others may own or the server assigned kept. */
static json_t *
update_body(const struct kind *k, json_t *desired, json_t *actual)
{
	json_t	*body = json_deep_copy(desired), *md = json_object_get(body, "metadata");
	json_t	*amd = json_object_get(actual, "metadata"), *merged, *spec, *aspec;
	static const char *const keep[] = { "clusterIP", "clusterIPs", "ipFamilies",
	    "ipFamilyPolicy", NULL };
	size_t	 i;

	json_object_set(md, "resourceVersion", json_object_get(amd, "resourceVersion"));
	merged = json_deep_copy(json_object_get(amd, "labels"));
	if (merged == NULL)
		merged = json_object();
	json_object_update(merged, json_object_get(md, "labels"));
	json_object_set_new(md, "labels", merged);
	merged = json_deep_copy(json_object_get(amd, "annotations"));
	if (merged == NULL)
		merged = json_object();
	json_object_update(merged, json_object_get(md, "annotations"));
	json_object_set_new(md, "annotations", merged);
	if (strcmp(k->name, "Service") == 0) {
		spec = json_object_get(body, "spec");
		aspec = json_object_get(actual, "spec");
		for (i = 0; keep[i] != NULL; i++)
			if (json_object_get(aspec, keep[i]) != NULL)
				json_object_set(spec, keep[i], json_object_get(aspec, keep[i]));
	}
	return body;
}

/*
 * 1 if actual is ours to overwrite: made by the operator for the same
 * definition.  Runner names can collide (runner-a-b-c is both a-b/c and
 * a/b-c), and a name may be taken by an object someone else made.
 */
static int
owned(const struct kind *k, json_t *desired, json_t *actual, char *err, size_t errlen)
{
	static const char *const keys[] = { LABEL_MANAGED_BY, LABEL_DEF_NAMESPACE,
	    LABEL_DEF_NAME, NULL };
	json_t		*want = json_object_get(json_object_get(desired, "metadata"),
			    "labels");
	json_t		*have = json_object_get(json_object_get(actual, "metadata"),
			    "labels");
	const char	*name = json_string_value(json_object_get(json_object_get(desired,
			    "metadata"), "name"));
	const char	*mb = json_string_value(json_object_get(have, LABEL_MANAGED_BY));
	size_t		 i;

	for (i = 0; keys[i] != NULL; i++)
		if (!json_equal(json_object_get(want, keys[i]),
		    json_object_get(have, keys[i])))
			break;
	if (keys[i] == NULL)
		return 1;
	if (mb == NULL || strcmp(mb, RENDER_MANAGED_BY) != 0)
		errf(err, errlen, "%s %s already exists and is not managed by "
		    RENDER_MANAGED_BY, k->name, name);
	else
		errf(err, errlen, "%s %s already exists for BackupDefinition %s/%s",
		    k->name, name, json_string_value(json_object_get(have,
		    LABEL_DEF_NAMESPACE)), json_string_value(json_object_get(have,
		    LABEL_DEF_NAME)));
	return 0;
}

/*
 * Makes the object named in desired match it; writes nothing when it does.
 * *did: what was written (APPLIED_*).  Returns 0, 1 when the name is taken
 * by an object that is not ours (err says whose), -1 on an API error.
 */
static int
apply(struct reconciler *r, const struct kind *k, json_t *desired, int *did,
    char *err, size_t errlen)
{
	const char	*name = json_string_value(json_object_get(json_object_get(desired,
			    "metadata"), "name"));
	char		*coll, *path;
	json_t		*actual = NULL, *body, *out;
	long		 status;
	int		 attempt, rc = -1;

	*did = APPLIED_NOTHING;
	coll = xasprintf("%s/namespaces/%s/%s", k->prefix, r->opts.namespace, k->plural);
	path = xasprintf("%s/%s", coll, name);
	for (attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
		if (kube_request(r->kube, "GET", path, NULL, &status, &actual, err,
		    errlen) == -1)
			goto out;
		if (status == 404) {
			if (reconcile_write(r, "POST", coll, desired, &status, &out, err,
			    errlen) == -1)
				goto out;
			render_wipe_secret(out);
			json_decref(out);
			if (status == 409)
				continue;	/* created meanwhile: compare again */
			if (status != 201 && status != 200)
				goto out;
			log_kv(LOGL_INFO, "created", "kind", k->name, "name", name, NULL);
			*did = APPLIED_CREATED;
			rc = 0;
			goto out;
		}
		if (status != 200)
			goto out;
		if (!owned(k, desired, actual, err, errlen)) {
			rc = 1;
			goto out;
		}
		if (subset(desired, actual)) {
			rc = 0;
			goto out;
		}
		body = update_body(k, desired, actual);
		if (strcmp(k->name, "Secret") == 0)
			render_wipe_secret(actual);
		json_decref(actual);
		actual = NULL;
		rc = reconcile_write(r, "PUT", path, body, &status, &out, err, errlen);
		if (strcmp(k->name, "Secret") == 0) {
			render_wipe_secret(body);
			render_wipe_secret(out);
		}
		json_decref(body);
		json_decref(out);
		if (rc == -1)
			goto out;
		rc = -1;
		if (status == 409)
			continue;	/* changed under us: read again */
		if (status != 200)
			goto out;
		log_kv(LOGL_INFO, "updated", "kind", k->name, "name", name, NULL);
		*did = APPLIED_UPDATED;
		rc = 0;
		goto out;
	}
	errf(err, errlen, "%s %s: still conflicting after %d attempts", k->name, name,
	    CONFLICT_RETRIES);
out:
	if (actual != NULL && strcmp(k->name, "Secret") == 0)
		render_wipe_secret(actual);
	json_decref(actual);
	free(coll);
	free(path);
	return rc;
}

static int
delete_object(struct reconciler *r, const struct kind *k, const char *name, char *err,
    size_t errlen)
{
	char	*path;
	json_t	*out;
	long	 status;
	int	 rc;

	path = xasprintf("%s/namespaces/%s/%s/%s", k->prefix, r->opts.namespace,
	    k->plural, name);
	rc = reconcile_write(r, "DELETE", path, NULL, &status, &out, err, errlen);
	free(path);
	json_decref(out);
	if (rc == -1)
		return -1;
	if (status == 404)
		return 0;
	if (status != 200 && status != 202)
		return -1;
	log_kv(LOGL_INFO, "deleted", "kind", k->name, "name", name, NULL);
	return 0;
}

static char *
def_path(const char *ns, const char *name, const char *sub)
{
	return xasprintf(KB_CRD_PATH "/namespaces/%s/" DEF_PLURAL "/%s%s", ns, name,
	    sub != NULL ? sub : "");
}

/* Re-reads a definition after a conflict; NULL when gone or on error. */
static json_t *
def_get(struct reconciler *r, const char *ns, const char *name, char *err,
    size_t errlen)
{
	char	*path = def_path(ns, name, NULL);
	json_t	*obj;
	long	 status;

	if (kube_request(r->kube, "GET", path, NULL, &status, &obj, err, errlen) == 0 &&
	    status != 200) {
		json_decref(obj);
		obj = NULL;
	}
	free(path);
	return obj;
}

enum put_result {
	PUT_ERROR = -1,
	PUT_DONE,	/* *obj is the server's answer */
	PUT_AGAIN,	/* a conflict: *obj is the definition as it is now */
	PUT_GONE	/* the definition is not there (any more) */
};

/* PUTs *obj to the definition's path (sub: NULL, or "/status"). */
static enum put_result
def_put(struct reconciler *r, json_t **obj, const char *sub, char *err, size_t errlen)
{
	json_t		*md = json_object_get(*obj, "metadata"), *out;
	const char	*ns = json_string_value(json_object_get(md, "namespace"));
	const char	*name = json_string_value(json_object_get(md, "name"));
	char		*path;
	long		 status;

	path = def_path(ns, name, sub);
	if (reconcile_write(r, "PUT", path, *obj, &status, &out, err, errlen) == -1) {
		free(path);
		return PUT_ERROR;
	}
	free(path);
	if (status == 200) {
		json_decref(*obj);
		*obj = out;
		return PUT_DONE;
	}
	json_decref(out);
	if (status == 404)
		return PUT_GONE;
	if (status != 409)
		return PUT_ERROR;
	if ((out = def_get(r, ns, name, err, errlen)) == NULL)
		return PUT_GONE;
	json_decref(*obj);
	*obj = out;
	return PUT_AGAIN;
}

/*
 * Adds (add = 1) or removes our finalizer; *obj is replaced by the server's
 * answer.  Returns 0, or -1 (also when the definition is gone).
 */
static int
set_finalizer(struct reconciler *r, json_t **obj, int add, char *err, size_t errlen)
{
	json_t		*md, *fin, *nfin, *v;
	size_t		 i;
	int		 attempt, has;

	for (attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
		md = json_object_get(*obj, "metadata");
		fin = json_object_get(md, "finalizers");
		nfin = json_array();
		has = 0;
		json_array_foreach(fin, i, v) {
			if (json_is_string(v) && strcmp(json_string_value(v), KB_FINALIZER) == 0)
				has = 1;
			else
				json_array_append(nfin, v);
		}
		if (has == add) {
			json_decref(nfin);
			return 0;
		}
		if (add)
			json_array_append_new(nfin, json_string(KB_FINALIZER));
		json_object_set_new(md, "finalizers", nfin);
		switch (def_put(r, obj, NULL, err, errlen)) {
		case PUT_DONE:
			return 0;
		case PUT_GONE:
			return add ? -1 : 0;
		case PUT_ERROR:
			return -1;
		case PUT_AGAIN:
			break;
		}
	}
	return errf(err, errlen, "finalizer: still conflicting");
}

/* 1 if obj has the string member key with value s. */
static int
member_is(json_t *obj, const char *key, const char *s)
{
	const char	*v = json_string_value(json_object_get(obj, key));

	return v != NULL && strcmp(v, s) == 0;
}

/* The definition's Ready condition, or NULL. */
static json_t *
ready_condition(json_t *obj)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"),
	    i, c)
		if (member_is(c, "type", "Ready"))
			return c;
	return NULL;
}

/*
 * What the runner said about its backups (runnerapi_backups()): kept from
 * the old status, replaced by what backups gives (null: removed).
 */
static void
backups_merge(json_t *status, json_t *old, json_t *backups)
{
	static const char *const fields[] = { "lastBackup", "lastSuccessfulBackup",
	    "nextBackup", "backupsKept", NULL };
	const char	*key;
	json_t		*v;
	size_t		 i;

	for (i = 0; fields[i] != NULL; i++)
		if ((v = json_object_get(old, fields[i])) != NULL)
			json_object_set(status, fields[i], v);
	json_object_foreach(backups, key, v) {
		if (json_is_null(v))
			json_object_del(status, key);
		else
			json_object_set(status, key, v);
	}
}

/*
 * Sets the Ready condition, observedGeneration and the runner's backups
 * (NULL: as they were) unless they already say so.
 */
static int
set_status(struct reconciler *r, json_t **obj, const char *cond, const char *reason,
    const char *message, const char *runner, const char *hash, json_t *backups,
    char *err, size_t errlen)
{
	json_t		*md, *status, *conds, *old, *c;
	const char	*since = NULL;
	char		 now[21];
	json_int_t	 gen;
	int		 attempt;

	time_to_rfc3339(time(NULL), now);
	for (attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
		md = json_object_get(*obj, "metadata");
		gen = json_integer_value(json_object_get(md, "generation"));
		old = json_object_get(*obj, "status");
		c = ready_condition(*obj);
		if (c != NULL && member_is(c, "status", cond))
			since = json_string_value(json_object_get(c, "lastTransitionTime"));
		conds = json_pack("[{s:s, s:s, s:s, s:s, s:I, s:s}]", "type", "Ready",
		    "status", cond, "reason", reason, "message", message,
		    "observedGeneration", gen, "lastTransitionTime",
		    since != NULL ? since : now);
		status = json_pack("{s:I, s:o}", "observedGeneration", gen,
		    "conditions", conds);
		if (runner != NULL)
			json_object_set_new(status, "runner", json_string(runner));
		if (hash != NULL)
			json_object_set_new(status, "configHash", json_string(hash));
		backups_merge(status, old, backups);
		if (old != NULL && json_equal(old, status)) {
			json_decref(status);
			return 0;
		}
		json_object_set_new(*obj, "status", status);
		switch (def_put(r, obj, "/status", err, errlen)) {
		case PUT_DONE:
		case PUT_GONE:
			return 0;
		case PUT_ERROR:
			return -1;
		case PUT_AGAIN:
			break;
		}
	}
	return errf(err, errlen, "status: still conflicting");
}

/* 1 unless the Ready condition already says exactly this. */
static int
ready_differs(json_t *obj, const char *cond, const char *reason, const char *message)
{
	json_t	*c = ready_condition(obj);

	return c == NULL || !member_is(c, "status", cond) ||
	    !member_is(c, "reason", reason) || !member_is(c, "message", message);
}

/*
 * Ready False for a definition that cannot be reconciled as it is (not
 * retried sooner than the next pass), and a Warning Event when that is
 * news: the status is the memory, so a pass that finds the same problem
 * again, even in a new process, posts nothing.
 */
static int
refuse(struct reconciler *r, json_t **obj, const char *reason, const char *message,
    char *err, size_t errlen)
{
	char	*msg = xstrdup(message);	/* message may be err */
	int	 news = ready_differs(*obj, "False", reason, msg), rc;

	rc = set_status(r, obj, "False", reason, msg, NULL, NULL, NULL, err, errlen);
	if (rc == 0 && news)
		events_post(&r->events, *obj, "Warning", reason, msg);
	free(msg);
	return rc;
}

/* Normal Events for what apply() wrote: one per verb, the kinds listed. */
static void
announce(struct reconciler *r, json_t *obj, const int *did, const char *name)
{
	static const char *const verbs[] = { NULL, "Created", "Updated" };
	char	 kindlist[64], *msg;
	size_t	 i;
	int	 v;

	for (v = APPLIED_CREATED; v <= APPLIED_UPDATED; v++) {
		kindlist[0] = '\0';
		for (i = 0; i < NKINDS; i++) {
			if (did[i] != v)
				continue;
			if (kindlist[0] != '\0')
				strlcat(kindlist, ", ", sizeof(kindlist));
			strlcat(kindlist, kinds[i].name, sizeof(kindlist));
		}
		if (kindlist[0] == '\0')
			continue;
		msg = xasprintf("%s %s %s in namespace %s", verbs[v], kindlist, name,
		    r->opts.namespace);
		events_post(&r->events, obj, "Normal", verbs[v], msg);
		free(msg);
	}
}

/* Deletes the object named in mine unless it belongs to someone else. */
static int
delete_owned(struct reconciler *r, const struct kind *k, json_t *mine, char *err,
    size_t errlen)
{
	const char	*name = json_string_value(json_object_get(json_object_get(mine,
			    "metadata"), "name"));
	char		*path, why[KB_ERRLEN];
	json_t		*actual;
	long		 status;
	int		 rc;

	path = xasprintf("%s/namespaces/%s/%s/%s", k->prefix, r->opts.namespace,
	    k->plural, name);
	rc = kube_request(r->kube, "GET", path, NULL, &status, &actual, err, errlen);
	free(path);
	if (strcmp(k->name, "Secret") == 0)
		render_wipe_secret(actual);
	if (rc == 0 && status == 200 && !owned(k, mine, actual, why, sizeof(why))) {
		log_kv(LOGL_WARN, "not deleted", "reason", why, NULL);
		json_decref(actual);
		return 0;
	}
	json_decref(actual);
	if (rc == -1 || (status != 200 && status != 404))
		return -1;
	return status == 404 ? 0 : delete_object(r, k, name, err, errlen);
}

/* The runner of definition ns/defname, named name. */
static int
delete_runner(struct reconciler *r, const char *ns, const char *defname,
    const char *name, char *err, size_t errlen)
{
	json_t	*mine = json_pack("{s:{s:s, s:o}}", "metadata", "name", name, "labels",
		    render_labels(ns, defname));
	int	 rc = -1;

	/* StatefulSet first: the runner stops before its config goes */
	if (delete_owned(r, &kinds[1], mine, err, errlen) == 0 &&
	    delete_owned(r, &kinds[2], mine, err, errlen) == 0 &&
	    delete_owned(r, &kinds[0], mine, err, errlen) == 0)
		rc = 0;
	json_decref(mine);
	return rc;
}

/* The location named by d: from the pass's index, or read now. */
static json_t *
location_of(struct reconciler *r, const struct definition *d, json_t *index,
    char *err, size_t errlen, int *failed)
{
	char	*path;
	json_t	*obj;
	long	 status;

	*failed = 0;
	if (index != NULL)
		return json_incref(json_object_get(index, d->storage_location));
	path = xasprintf(KB_CRD_PATH "/namespaces/%s/" LOC_PLURAL "/%s", r->opts.namespace,
	    d->storage_location);
	if (kube_request(r->kube, "GET", path, NULL, &status, &obj, err, errlen) == -1)
		*failed = 1;
	else if (status != 200) {
		*failed = status != 404;
		json_decref(obj);
		obj = NULL;
	}
	free(path);
	return obj;
}

/*
 * Reconciles one definition object (a reference is taken).  keep, when not
 * NULL, collects the runner names that must survive the sweep; backups,
 * when not NULL, is what its runner said (runnerapi_backups()).  Returns -1
 * on an API error worth retrying.
 */
static int
reconcile_one(struct reconciler *r, json_t *objin, json_t *index, json_t *keep,
    json_t *backups)
{
	struct definition	d;
	struct location		l;
	struct rendered		out;
	const char		*reason = NULL;
	json_t			*obj = json_incref(objin), *lobj = NULL;
	char			 err[KB_ERRLEN], *name = NULL, *msg;
	int			 rc = -1, parsed, lfailed, lok = 0;
	size_t			 i;

	memset(&out, 0, sizeof(out));
	parsed = definition_parse(obj, &d, &reason, err, sizeof(err));
	if (d.name == NULL || d.namespace == NULL) {
		log_kv(LOGL_WARN, "definition skipped", "error", err, NULL);
		rc = 0;
		goto out;
	}
	name = names_runner(d.namespace, d.name, NAMES_MAX);
	if (d.deleting) {
		if (d.has_finalizer) {
			if (delete_runner(r, d.namespace, d.name, name, err,
			    sizeof(err)) == -1 ||
			    set_finalizer(r, &obj, 0, err, sizeof(err)) == -1)
				goto fail;
			log_kv(LOGL_INFO, "definition removed", "namespace", d.namespace,
			    "name", d.name, NULL);
		}
		rc = 0;
		goto out;
	}
	if (keep != NULL)
		json_object_set_new(keep, name, json_true());
	if (!d.has_finalizer && set_finalizer(r, &obj, 1, err, sizeof(err)) == -1)
		goto fail;
	if (parsed == -1) {
		/* the runner keeps its last good config; the status says why */
		if (refuse(r, &obj, reason, err, err, sizeof(err)) == -1)
			goto fail;
		rc = 0;
		goto out;
	}
	lobj = location_of(r, &d, index, err, sizeof(err), &lfailed);
	if (lfailed)
		goto fail;
	if (lobj != NULL) {
		if (location_parse(lobj, &l, err, sizeof(err)) == -1) {
			msg = xasprintf("BackupStorageLocation %s: %s", d.storage_location, err);
			rc = refuse(r, &obj, "InvalidSpec", msg, err, sizeof(err));
			free(msg);
			location_free(&l);
			if (rc == -1)
				goto fail;
			goto out;
		}
		lok = 1;
	}
	if (render_definition(&d, lok ? &l : NULL, &r->opts, &out, &reason, err,
	    sizeof(err)) == -1) {
		if (reason == NULL || refuse(r, &obj, reason, err, err, sizeof(err)) == -1)
			goto fail;
		rc = 0;
		goto out;
	}
	{
		json_t	*objs[NKINDS] = { out.secret, out.statefulset, out.service };
		int	 did[NKINDS] = { APPLIED_NOTHING };

		for (i = 0, rc = 0; i < NKINDS && rc == 0; i++)
			rc = apply(r, &kinds[i], objs[i], &did[i], err, sizeof(err));
		announce(r, obj, did, out.name);
		if (rc == -1)
			goto fail;
		if (rc == 1) {
			if (refuse(r, &obj, "NameConflict", err, err, sizeof(err)) == -1)
				goto fail;
			rc = 0;
			goto out;
		}
	}
	msg = xasprintf("Secret, StatefulSet and Service %s in namespace %s are up to date",
	    out.name, r->opts.namespace);
	rc = set_status(r, &obj, "True", "Reconciled", msg, out.name, out.config_hash,
	    backups, err, sizeof(err));
	free(msg);
	if (rc == -1)
		goto fail;
	goto out;
fail:
	log_kv(LOGL_ERROR, "reconcile failed", "namespace", d.namespace, "name", d.name,
	    "error", err, NULL);
	events_failed(&r->events, obj, err);
	rc = -1;
out:
	if (rc == 0 && d.namespace != NULL && d.name != NULL)
		events_forget(&r->events, d.namespace, d.name);
	if (lok)
		location_free(&l);
	rendered_free(&out);
	json_decref(lobj);
	json_decref(obj);
	free(name);
	definition_free(&d);
	return rc;
}

/* Lists a collection (all pages) into a new array; *rv gets the list's version. */
static int
list_all(struct reconciler *r, const char *path, const char *selector, json_t **items,
    char **rv, char *err, size_t errlen)
{
	char	*url, *cont = NULL, *sel = NULL;
	json_t	*out, *md;
	long	 status;

	*items = json_array();
	if (rv != NULL)
		*rv = NULL;
	if (selector != NULL)
		sel = kube_escape(selector);
	for (;;) {
		url = xasprintf("%s?limit=%d%s%s%s%s", path, LIST_LIMIT,
		    sel != NULL ? "&labelSelector=" : "", sel != NULL ? sel : "",
		    cont != NULL ? "&continue=" : "", cont != NULL ? cont : "");
		free(cont);
		cont = NULL;
		if (kube_request(r->kube, "GET", url, NULL, &status, &out, err,
		    errlen) == -1 || status != 200) {
			free(url);
			free(sel);
			json_decref(out);
			json_decref(*items);
			*items = NULL;
			return -1;
		}
		free(url);
		json_array_extend(*items, json_object_get(out, "items"));
		md = json_object_get(out, "metadata");
		if (rv != NULL && json_is_string(json_object_get(md, "resourceVersion"))) {
			free(*rv);
			*rv = xstrdup(json_string_value(json_object_get(md,
			    "resourceVersion")));
		}
		if (json_is_string(json_object_get(md, "continue")) &&
		    json_string_length(json_object_get(md, "continue")) > 0)
			cont = kube_escape(json_string_value(json_object_get(md, "continue")));
		json_decref(out);
		if (cont == NULL)
			break;
	}
	free(sel);
	return 0;
}

/* Deletes managed objects whose name is not in keep. */
static int
sweep(struct reconciler *r, json_t *keep, json_t *statefulsets)
{
	char		 err[KB_ERRLEN], *path;
	json_t		*items, *item;
	const char	*name;
	size_t		 i, j;
	int		 failed = 0;

	for (i = 0; i < NKINDS; i++) {
		if (&kinds[i] == &kinds[1] && statefulsets != NULL) {
			items = json_incref(statefulsets);	/* listed by the pass */
			goto have;
		}
		path = xasprintf("%s/namespaces/%s/%s", kinds[i].prefix, r->opts.namespace,
		    kinds[i].plural);
		if (list_all(r, path, LABEL_MANAGED_BY "=" RENDER_MANAGED_BY, &items, NULL,
		    err, sizeof(err)) == -1) {
			free(path);
			log_kv(LOGL_ERROR, "sweep", "error", err, NULL);
			failed++;
			continue;
		}
		free(path);
have:
		json_array_foreach(items, j, item) {
			name = json_string_value(json_object_get(json_object_get(item,
			    "metadata"), "name"));
			if (name == NULL || json_object_get(keep, name) != NULL)
				continue;
			if (delete_object(r, &kinds[i], name, err, sizeof(err)) == -1) {
				log_kv(LOGL_ERROR, "sweep", "error", err, NULL);
				failed++;
			}
		}
		json_decref(items);
	}
	return failed;
}

/* 1 if def has a runner that can answer: Ready, not suspended, not going. */
static int
runner_up(json_t *def)
{
	json_t	*c = ready_condition(def);

	return c != NULL && member_is(c, "status", "True") &&
	    json_is_string(json_object_get(json_object_get(def, "status"), "runner")) &&
	    !json_is_true(json_object_get(json_object_get(def, "spec"), "suspend")) &&
	    json_object_get(json_object_get(def, "metadata"), "deletionTimestamp") == NULL;
}

/* The runners' StatefulSets that have a pod: name -> true. */
static json_t *
with_pods(json_t *statefulsets)
{
	json_t		*index = json_object(), *sts;
	const char	*name;
	size_t		 i;

	json_array_foreach(statefulsets, i, sts) {
		name = json_string_value(json_object_get(json_object_get(sts, "metadata"),
		    "name"));
		if (name != NULL && json_integer_value(json_object_get(json_object_get(sts,
		    "status"), "replicas")) > 0)
			json_object_set_new(index, name, json_true());
	}
	return index;
}

/*
 * Every ready runner's status at once, one request each: an array of the
 * definitions' backup members (runnerapi_backups()), null where none.  A
 * runner is asked when its definition is Ready and its StatefulSet has a
 * pod (status.replicas, the StatefulSet controller's).
 */
static json_t *
poll_runners(struct reconciler *r, json_t *defs, json_t *statefulsets)
{
	struct runner_poll	*polls;
	json_t			*out = json_array(), *def, *md, *pods;
	size_t			 i, n = 0, *which;

	polls = xcalloc(json_array_size(defs) + 1, sizeof(*polls));
	which = xcalloc(json_array_size(defs) + 1, sizeof(*which));
	pods = with_pods(statefulsets);
	json_array_foreach(defs, i, def) {
		json_array_append_new(out, json_null());
		if (!runner_up(def) || r->runners.keylen == 0 ||
		    json_object_get(pods, json_string_value(json_object_get(json_object_get(def,
		    "status"), "runner"))) == NULL)
			continue;
		md = json_object_get(def, "metadata");
		runnerapi_target(&r->runners, json_string_value(json_object_get(md,
		    "namespace")), json_string_value(json_object_get(md, "name")),
		    json_string_value(json_object_get(md, "uid")),
		    json_string_value(json_object_get(json_object_get(def, "status"),
		    "runner")), &polls[n].target);
		which[n++] = i;
	}
	runnerapi_poll(&r->runners, polls, n);
	for (i = 0; i < n; i++) {
		if (polls[i].rc == 0 && polls[i].status == 200)
			json_array_set_new(out, which[i], runnerapi_backups(polls[i].out));
		else
			log_kv(LOGL_WARN, "runner status not read", "runner",
			    polls[i].target.base, "error", polls[i].rc == -1 ? polls[i].err :
			    "unexpected answer", NULL);
		json_decref(polls[i].out);
		runnerapi_target_free(&polls[i].target);
	}
	free(polls);
	free(which);
	json_decref(pods);
	return out;
}

/*
 * The runners' API key: read (or made) at every full pass, so that a new
 * one (its Secret deleted) reaches every runner; between passes, as read.
 */
static int
api_key(struct reconciler *r, int again)
{
	char	err[KB_ERRLEN];

	if (r->runners.keylen > 0 && !again)
		return 0;
	if (runnerapi_key_load(&r->runners, r->kube, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "runner API key", "error", err, NULL);
		return -1;
	}
	r->opts.api_key = r->runners.key;
	r->opts.api_key_len = r->runners.keylen;
	return 0;
}

static int
created_first(const void *a, const void *b)
{
	json_t		*x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char	*tx, *ty;
	int		 c;

	tx = json_string_value(json_object_get(json_object_get(x, "metadata"),
	    "creationTimestamp"));
	ty = json_string_value(json_object_get(json_object_get(y, "metadata"),
	    "creationTimestamp"));
	if ((c = strcmp(tx != NULL ? tx : "", ty != NULL ? ty : "")) != 0)
		return c;
	tx = json_string_value(json_object_get(json_object_get(x, "metadata"), "name"));
	ty = json_string_value(json_object_get(json_object_get(y, "metadata"), "name"));
	return strcmp(tx != NULL ? tx : "", ty != NULL ? ty : "");
}

/* Remembers (or forgets) a run as active after a step's result rc. */
static void
run_track(struct reconciler *r, enum run_kind kind, json_t *obj, int rc)
{
	json_t		*md = json_object_get(obj, "metadata");
	const char	*ns = json_string_value(json_object_get(md, "namespace"));
	const char	*name = json_string_value(json_object_get(md, "name"));
	char		*id;

	if (ns == NULL || name == NULL)
		return;
	id = xasprintf("%s/%s/%s", runs_plural(kind), ns, name);
	if (rc == 0)
		json_object_del(r->active, id);
	else
		json_object_set_new(r->active, id, json_pack("{s:i, s:{s:s, s:s}}", "kind",
		    (int)kind, "metadata", "namespace", ns, "name", name));
	free(id);
}

/* Every BackupRun and BackupRestore that is not final, oldest first: one step each. */
static int
runs_pass(struct reconciler *r)
{
	static const enum run_kind kinds_[] = { RUN_BACKUP, RUN_RESTORE };
	char		 err[KB_ERRLEN], *path;
	json_t		*items, *busy = json_object(), **v;
	size_t		 i, k, n;
	int		 failed = 0, rc;

	json_object_clear(r->active);
	for (k = 0; k < 2 && !stopping; k++) {
		path = xasprintf(KB_CRD_PATH "/%s", runs_plural(kinds_[k]));
		rc = list_all(r, path, NULL, &items, NULL, err, sizeof(err));
		free(path);
		if (rc == -1) {
			log_kv(LOGL_ERROR, "list", "error", err, NULL);
			failed++;
			continue;
		}
		n = json_array_size(items);
		v = xcalloc(n + 1, sizeof(*v));
		for (i = 0; i < n; i++)
			v[i] = json_array_get(items, i);
		qsort(v, n, sizeof(*v), created_first);
		for (i = 0; i < n && !stopping; i++) {
			if (runs_final(v[i]))
				continue;
			rc = runs_step(r, kinds_[k], v[i], busy);
			run_track(r, kinds_[k], v[i], rc);
			failed += rc == -1;
		}
		free(v);
		json_decref(items);
	}
	json_decref(busy);
	return failed;
}

int
reconcile_all(struct reconciler *r)
{
	char		 err[KB_ERRLEN], *path;
	json_t		*locs, *defs, *index, *keep, *item, *backups, *sts;
	const char	*name;
	size_t		 i;
	int		 failed = 0;

	secrets_forget(r);
	if (api_key(r, 1) == -1)
		return -1;
	path = xasprintf(KB_CRD_PATH "/namespaces/%s/" LOC_PLURAL, r->opts.namespace);
	if (list_all(r, path, NULL, &locs, NULL, err, sizeof(err)) == -1) {
		free(path);
		log_kv(LOGL_ERROR, "list", "error", err, NULL);
		return -1;
	}
	free(path);
	if (list_all(r, KB_CRD_PATH "/" DEF_PLURAL, NULL, &defs, NULL, err,
	    sizeof(err)) == -1) {
		json_decref(locs);
		log_kv(LOGL_ERROR, "list", "error", err, NULL);
		return -1;
	}
	index = json_object();
	json_array_foreach(locs, i, item)
		if ((name = json_string_value(json_object_get(json_object_get(item,
		    "metadata"), "name"))) != NULL)
			json_object_set(index, name, item);
	keep = json_object();
	path = xasprintf("/apis/apps/v1/namespaces/%s/statefulsets", r->opts.namespace);
	if (list_all(r, path, LABEL_MANAGED_BY "=" RENDER_MANAGED_BY, &sts, NULL, err,
	    sizeof(err)) == -1)
		log_kv(LOGL_ERROR, "list", "error", err, NULL);	/* no runner asked */
	free(path);
	backups = poll_runners(r, defs, sts);
	json_array_foreach(defs, i, item) {
		if (stopping)
			break;
		if (reconcile_one(r, item, index, keep, json_is_object(json_array_get(backups,
		    i)) ? json_array_get(backups, i) : NULL) == -1)
			failed++;
	}
	json_decref(backups);
	/* only a complete pass knows which objects are orphans */
	if (!stopping)
		failed += sweep(r, keep, sts);
	json_decref(sts);
	if (!stopping)
		failed += runs_pass(r);
	{
		char n[32], f[32];

		snprintf(n, sizeof(n), "%zu", json_array_size(defs));
		snprintf(f, sizeof(f), "%d", failed);
		log_kv(LOGL_INFO, "pass done", "definitions", n, "failed", f, NULL);
	}
	secrets_forget(r);
	json_decref(keep);
	json_decref(index);
	json_decref(defs);
	json_decref(locs);
	return failed;
}

/*
 * Watching.  One thread per watched collection streams events into a queue;
 * the main thread reconciles from it.  A watch that expires (410 Gone) or
 * starts lists again, and asks the main thread for a full pass.
 */

/* What a watch streams. */
enum watched { W_LOCATIONS, W_DEFINITIONS, W_RUNS, W_RESTORES };

struct event {
	struct event	*next;
	int		 resync;	/* full pass wanted */
	enum watched	 what;
	char		*type;
	json_t		*obj;		/* a definition, a run or a restore */
};

struct queue {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct event	*head, *tail;
};

struct watcher {
	struct reconciler *r;
	struct kube	 kube;		/* its own: kube counters are not shared */
	struct queue	*q;
	const char	*path;		/* collection */
	enum watched	 what;
	char		*rv;
	int		 gone;
	volatile int	*stop;
	pthread_t	 thread;
};

static void
queue_push(struct queue *q, int resync, enum watched what, const char *type, json_t *obj)
{
	struct event	*e = xcalloc(1, sizeof(*e));

	e->resync = resync;
	e->what = what;
	e->type = xstrdup_or_null(type);
	e->obj = obj != NULL ? json_deep_copy(obj) : NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail != NULL)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void
event_free(struct event *e)
{
	free(e->type);
	json_decref(e->obj);
	free(e);
}

static int
on_event(void *arg, const char *type, json_t *obj)
{
	struct watcher	*w = arg;
	const char	*rv;

	if (strcmp(type, "ERROR") == 0) {
		if (json_integer_value(json_object_get(obj, "code")) == 410)
			w->gone = 1;
		return 1;
	}
	rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
	    "resourceVersion"));
	if (rv != NULL) {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
	if (strcmp(type, "BOOKMARK") == 0)
		return 0;
	if (w->what != W_LOCATIONS)
		queue_push(w->q, 0, w->what, type, obj);
	else	/* a location: every definition */
		queue_push(w->q, 1, W_LOCATIONS, NULL, NULL);
	return 0;
}

static void
pause_s(volatile int *stop, int s)
{
	while (s-- > 0 && !*stop)
		sleep(1);
}

static void *
watch_thread(void *arg)
{
	struct watcher	*w = arg;
	char		 err[KB_ERRLEN], *url;
	json_t		*out, *md;
	long		 status;
	int		 failures = 0;

	while (!*w->stop) {
		if (w->rv == NULL) {
			/* a consistent point to watch from; the main thread lists it all */
			url = xasprintf("%s?limit=1", w->path);
			if (kube_request(&w->kube, "GET", url, NULL, &status, &out, err,
			    sizeof(err)) == -1 || status != 200) {
				free(url);
				json_decref(out);
				log_kv(LOGL_ERROR, "watch list", "error", err, NULL);
				pause_s(w->stop, failures < 5 ? 1 << failures++ : 30);
				continue;
			}
			free(url);
			md = json_object_get(out, "metadata");
			w->rv = xstrdup(json_string_value(json_object_get(md,
			    "resourceVersion")) != NULL ? json_string_value(
			    json_object_get(md, "resourceVersion")) : "0");
			json_decref(out);
			queue_push(w->q, 1, w->what, NULL, NULL);
		}
		url = xasprintf("%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true"
		    "&timeoutSeconds=%ld", w->path, w->rv, 240 + (long)arc4random_uniform(120));
		w->gone = 0;
		if (kube_watch(&w->kube, url, on_event, w, w->stop, &status, err,
		    sizeof(err)) == -1 && status != 410) {
			log_kv(LOGL_WARN, "watch", "error", err, NULL);
			pause_s(w->stop, failures < 5 ? 1 << failures++ : 30);
		} else
			failures = 0;
		free(url);
		if (w->gone || status == 410) {
			log_kv(LOGL_INFO, "watch expired, listing again", "path", w->path, NULL);
			free(w->rv);
			w->rv = NULL;
		}
	}
	return NULL;
}

static void
on_signal(int sig)
{
	stopping = 1;
}

static int
watcher_start(struct watcher *w, struct reconciler *r, struct queue *q,
    const char *path, enum watched what, volatile int *stop)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	kube_copy(&w->kube, r->kube);	/* watches only read: no gate needed */
	w->q = q;
	w->path = path;
	w->what = what;
	w->stop = stop;
	return pthread_create(&w->thread, NULL, watch_thread, w) == 0 ? 0 : -1;
}

static void
watcher_stop(struct watcher *w)
{
	pthread_join(w->thread, NULL);
	free(w->rv);
	kube_free(&w->kube);
}

/* A run's event: one step (gone: forgotten). */
static void
handle_run(struct reconciler *r, struct event *e, json_t *busy, int *failed)
{
	enum run_kind	kind = e->what == W_RUNS ? RUN_BACKUP : RUN_RESTORE;
	int		rc = 0;

	if (strcmp(e->type, "DELETED") != 0 && !runs_final(e->obj))
		rc = runs_step(r, kind, e->obj, busy);
	run_track(r, kind, e->obj, rc);
	if (rc == -1)
		*failed = 1;
}

/* One definition event: reconcile it, or clean up after it. */
static void
handle_event(struct reconciler *r, struct event *e, json_t *busy, int *failed)
{
	char	 err[KB_ERRLEN], *name;
	json_t	*md = json_object_get(e->obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *n = json_string_value(json_object_get(md, "name"));

	if (ns == NULL || n == NULL)
		return;
	if (e->what == W_RUNS || e->what == W_RESTORES) {
		handle_run(r, e, busy, failed);
		return;
	}
	if (strcmp(e->type, "DELETED") == 0) {
		/* without our finalizer (never reconciled): clean up here */
		name = names_runner(ns, n, NAMES_MAX);
		if (delete_runner(r, ns, n, name, err, sizeof(err)) == -1)
			*failed = 1;
		free(name);
		events_forget(&r->events, ns, n);
		return;
	}
	secrets_forget(r);
	if (api_key(r, 0) == -1 || reconcile_one(r, e->obj, NULL, NULL, NULL) == -1)
		*failed = 1;
}

/* Every run that is not final yet: one step each. */
static int
poll_active(struct reconciler *r)
{
	json_t		*ids = json_deep_copy(r->active), *busy = json_object(), *v;
	const char	*id;
	int		 failed = 0, rc;

	json_object_foreach(ids, id, v) {
		if (stopping || (r->leading != NULL && !*r->leading))
			break;
		rc = runs_step(r, (enum run_kind)json_integer_value(json_object_get(v,
		    "kind")), v, busy);
		run_track(r, (enum run_kind)json_integer_value(json_object_get(v, "kind")),
		    v, rc);
		failed += rc == -1;
	}
	json_decref(busy);
	json_decref(ids);
	return failed;
}

/* 1 while this replica may go on: it holds the lease, or there is no election. */
static int
leading(struct reconciler *r)
{
	return r->leading == NULL || *r->leading;
}

/* Waits for an event, the next pass or the next poll (each second: signals, the lease). */
static struct event *
wait_events(struct reconciler *r, struct queue *q, time_t next_pass, time_t next_poll)
{
	struct timespec	 deadline;
	struct event	*batch;

	pthread_mutex_lock(&q->lock);
	while (q->head == NULL && !stopping && leading(r) && time(NULL) < next_pass &&
	    (json_object_size(r->active) == 0 || time(NULL) < next_poll)) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		pthread_cond_timedwait(&q->cond, &q->lock, &deadline);
	}
	batch = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return batch;
}

int
reconcile_run(struct reconciler *r)
{
	static const struct {
		const char	*plural;
		enum watched	 what;
	} watches[] = {
		{ DEF_PLURAL, W_DEFINITIONS },
		{ RUN_PLURAL, W_RUNS },
		{ RESTORE_PLURAL, W_RESTORES },
	};
	struct queue		 q;
	struct watcher		 w[4];
	struct event		*e, *batch;
	struct sigaction	 sa;
	volatile int		 stop = 0;
	char			*paths[4];
	json_t			*busy;
	time_t			 next_pass = 0, next_poll = 0;
	long			 retry_s = 1;
	int			 full, failed, i, nw = 0, rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&q, 0, sizeof(q));
	pthread_mutex_init(&q.lock, NULL);
	pthread_cond_init(&q.cond, NULL);
	paths[0] = xasprintf(KB_CRD_PATH "/namespaces/%s/" LOC_PLURAL, r->opts.namespace);
	for (i = 0; i < 3; i++)
		paths[i + 1] = xasprintf(KB_CRD_PATH "/%s", watches[i].plural);
	for (i = 0; i < 4; i++, nw++)
		if (watcher_start(&w[i], r, &q, paths[i], i == 0 ? W_LOCATIONS :
		    watches[i - 1].what, &stop) == -1) {
			log_error("cannot start watch threads");
			rc = 1;
			goto out;
		}
	next_pass = time(NULL) + r->resync_s;
	while (!stopping) {
		batch = wait_events(r, &q, next_pass, next_poll);
		if (stopping)
			break;
		if (!leading(r)) {
			log_error("stopping: this replica lost the lease");
			rc = 1;
			break;
		}
		full = time(NULL) >= next_pass;
		for (e = batch; e != NULL; e = e->next)
			if (e->resync)
				full = 1;
		failed = 0;
		busy = json_object();
		if (full)
			failed = reconcile_all(r) != 0;
		else
			for (e = batch; e != NULL; e = e->next)
				handle_event(r, e, busy, &failed);
		json_decref(busy);
		if (!full && time(NULL) >= next_poll && json_object_size(r->active) > 0)
			failed |= poll_active(r) != 0;
		if (full || time(NULL) >= next_poll)
			next_poll = time(NULL) + r->poll_s;
		while (batch != NULL) {
			e = batch->next;
			event_free(batch);
			batch = e;
		}
		/* failures come back sooner than the resync, with backoff */
		if (failed) {
			next_pass = time(NULL) + retry_s;
			retry_s = retry_s * 2 > r->resync_s ? r->resync_s : retry_s * 2;
		} else if (full) {
			next_pass = time(NULL) + r->resync_s;
			retry_s = 1;
		}
	}
	log_info("stopping");
out:
	stop = 1;
	for (i = 0; i < nw; i++)
		watcher_stop(&w[i]);
	while (q.head != NULL) {
		e = q.head->next;
		event_free(q.head);
		q.head = e;
	}
	for (i = 0; i < 4; i++)
		free(paths[i]);
	pthread_mutex_destroy(&q.lock);
	pthread_cond_destroy(&q.cond);
	return rc;
}
