/*
 * runs: BackupRun and BackupRestore through the runner's control API.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/events.h"
#include "operator/kube.h"
#include "operator/reconcile.h"
#include "operator/resources.h"
#include "operator/runnerapi.h"
#include "operator/runs.h"

/* One step's context. */
struct step {
	struct reconciler	*r;
	struct run		 run;
	json_t			*obj;		/* current; replaced by the server's answer */
	const char		*plural;
};

const char *
runs_plural(enum run_kind kind)
{
	return kind == RUN_BACKUP ? RUN_PLURAL : RESTORE_PLURAL;
}

int
runs_kind(const char *plural)
{
	if (strcmp(plural, RUN_PLURAL) == 0)
		return RUN_BACKUP;
	if (strcmp(plural, RESTORE_PLURAL) == 0)
		return RUN_RESTORE;
	return -1;
}

static const char *
str_at(json_t *obj, const char *a, const char *b)
{
	json_t	*v = json_object_get(obj, a);

	return json_string_value(b != NULL ? json_object_get(v, b) : v);
}

int
runs_final(json_t *obj)
{
	const char	*phase = str_at(obj, "status", "phase");

	return phase != NULL && (strcmp(phase, "Succeeded") == 0 ||
	    strcmp(phase, "Failed") == 0);
}

static char *
obj_path(const char *plural, json_t *obj, const char *sub)
{
	return xasprintf(KB_CRD_PATH "/namespaces/%s/%s/%s%s",
	    str_at(obj, "metadata", "namespace"), plural, str_at(obj, "metadata", "name"),
	    sub != NULL ? sub : "");
}

/* GET path: 1 with *out, 0 when not found, -1 on an API error. */
static int
get_object(struct reconciler *r, const char *path, json_t **out)
{
	char	err[KB_ERRLEN];
	long	status;

	if (kube_request(r->kube, "GET", path, NULL, &status, out, err, sizeof(err)) == -1 ||
	    (status != 200 && status != 404)) {
		log_kv(LOGL_ERROR, "get", "error", err, NULL);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	if (status == 404) {
		json_decref(*out);
		*out = NULL;
		return 0;
	}
	return 1;
}

static const char *
condition_of(const char *phase)
{
	if (strcmp(phase, "Succeeded") == 0)
		return "True";
	return strcmp(phase, "Failed") == 0 ? "False" : "Unknown";
}

/*
 * Sets phase, the Succeeded condition (reason, message) and the members of
 * fields (a reference is taken; null deletes) unless the status says so
 * already; an Event when the phase or the reason changes.
 */
static int
set_status(struct step *s, const char *phase, const char *reason, const char *message,
    json_t *fields)
{
	json_t		*old = json_object_get(s->obj, "status"), *status, *c, *out;
	const char	*since = NULL;
	char		 now[21], err[KB_ERRLEN], *path, *oldphase, *oldreason;
	long		 code;
	int		 rc;

	time_to_rfc3339(time(NULL), now);
	status = old != NULL ? json_deep_copy(old) : json_object();
	c = json_array_get(json_object_get(old, "conditions"), 0);
	/* copies: the old status goes once the new one is in */
	oldphase = xstrdup(str_at(s->obj, "status", "phase") != NULL ?
	    str_at(s->obj, "status", "phase") : "");
	oldreason = xstrdup(str_at(c, "reason", NULL) != NULL ? str_at(c, "reason", NULL) :
	    "");
	if (str_at(c, "status", NULL) != NULL &&
	    strcmp(str_at(c, "status", NULL), condition_of(phase)) == 0)
		since = json_string_value(json_object_get(c, "lastTransitionTime"));
	if (fields != NULL) {
		json_object_update(status, fields);
		json_decref(fields);
	}
	{
		const char	*key;
		json_t		*v, *tmp;

		json_object_foreach_safe(status, tmp, key, v)
			if (json_is_null(v))
				json_object_del(status, key);
	}
	json_object_set_new(status, "phase", json_string(phase));
	json_object_set_new(status, "observedGeneration", json_integer(s->run.generation));
	json_object_set_new(status, "conditions", json_pack("[{s:s, s:s, s:s, s:s, s:I, "
	    "s:s}]", "type", "Succeeded", "status", condition_of(phase), "reason", reason,
	    "message", message, "observedGeneration", (json_int_t)s->run.generation,
	    "lastTransitionTime", since != NULL ? since : now));
	if (old != NULL && json_equal(old, status)) {
		json_decref(status);
		free(oldphase);
		free(oldreason);
		return 0;
	}
	json_object_set_new(s->obj, "status", status);
	path = obj_path(s->plural, s->obj, "/status");
	rc = reconcile_write(s->r, "PUT", path, s->obj, &code, &out, err, sizeof(err));
	free(path);
	if (rc == -1 || code != 200) {
		if (rc == 0)
			errf(err, sizeof(err), "status: HTTP %ld (read again next time)", code);
		log_kv(LOGL_ERROR, "status not written", "namespace", s->run.namespace,
		    "name", s->run.name, "error", err, NULL);
		json_decref(out);
		free(oldphase);
		free(oldreason);
		return -1;
	}
	json_decref(s->obj);
	s->obj = out;
	if (strcmp(oldphase, phase) != 0 || strcmp(oldreason, reason) != 0)
		events_post(&s->r->events, s->obj, strcmp(phase, "Failed") == 0 ?
		    "Warning" : "Normal", reason, message);
	free(oldphase);
	free(oldreason);
	return 0;
}

/* A final Failed. */
static int
fail(struct step *s, const char *reason, const char *message)
{
	char	now[21];

	time_to_rfc3339(time(NULL), now);
	return set_status(s, "Failed", reason, message, json_pack("{s:s, s:s}",
	    "completionTime", now, "error", message));
}

/* Still Pending, for a reason that may pass. */
static int
pending(struct step *s, const char *reason, const char *message)
{
	int	rc = set_status(s, "Pending", reason, message, NULL);

	return rc == -1 ? -1 : 1;
}

/* The status a runner's job (runner/service/api.h) means. */
static int
apply_job(struct step *s, json_t *job, const char *runner)
{
	const char	*state = str_at(job, "state", NULL), *id = str_at(job, "id", NULL);
	const char	*bid = str_at(job, "backupId", NULL);
	const char	*error = str_at(job, "error", NULL);
	json_t		*fields;
	char		 msg[512];
	int		 rc;

	if (state == NULL || id == NULL)
		return pending(s, "RunnerUnavailable", "the runner answered without a job");
	fields = json_pack("{s:s, s:s, s:O*, s:O*, s:O*, s:O*, s:O*}", "jobId", id,
	    "runner", runner,
	    "backupId", json_object_get(job, "backupId"),
	    "startTime", json_object_get(job, "startTime"),
	    "completionTime", json_object_get(job, "completionTime"),
	    "rawBytes", json_object_get(job, "rawBytes"),
	    "storedBytes", json_object_get(job, "storedBytes"));
	if (strcmp(state, "running") == 0) {
		snprintf(msg, sizeof(msg), "job %s on runner %s", id, runner);
		rc = set_status(s, "Running", "Running", msg, fields);
		return rc == -1 ? -1 : 1;
	}
	if (strcmp(state, "succeeded") == 0) {
		snprintf(msg, sizeof(msg), "%s %s%s", s->run.kind == RUN_BACKUP ?
		    "backup" : "restored backup", bid != NULL ? bid : "",
		    s->run.kind == RUN_RESTORE && s->run.database != NULL ? " into " : "");
		if (s->run.kind == RUN_RESTORE)
			strlcat(msg, s->run.database != NULL ? s->run.database :
			    " into the definition's database", sizeof(msg));
		return set_status(s, "Succeeded", "Succeeded", msg, fields);
	}
	json_object_set_new(fields, "error", json_string(error != NULL ? error : "failed"));
	return set_status(s, "Failed", "Failed", error != NULL ? error : "the job failed",
	    fields);
}

/* A restore over the definition's own database must say so. */
static int
restore_target_ok(struct step *s, json_t *def, char *msg, size_t len)
{
	json_t		*v = json_object_get(json_object_get(json_object_get(def, "spec"),
			    "settings"), "database");
	const char	*own = json_string_value(v);

	if (s->run.kind != RUN_RESTORE || s->run.into_source)
		return 1;
	if (own != NULL && s->run.database != NULL && strcmp(own, s->run.database) == 0) {
		snprintf(msg, len, "spec.database names the definition's own database %s: "
		    "set spec.intoSourceDatabase: true to restore over it", own);
		return 0;
	}
	return 1;
}

/* The runner of def, when it can take a job: 1, else 0 with why in msg. */
static int
runner_ready(json_t *def, const char **runner, char *msg, size_t len)
{
	json_t		*c;
	size_t		 i;

	*runner = str_at(def, "status", "runner");
	if (json_is_true(json_object_get(json_object_get(def, "spec"), "suspend"))) {
		snprintf(msg, len, "BackupDefinition %s is suspended (no runner)",
		    str_at(def, "metadata", "name"));
		return 0;
	}
	json_array_foreach(json_object_get(json_object_get(def, "status"), "conditions"),
	    i, c)
		if (str_at(c, "type", NULL) != NULL && str_at(c, "status", NULL) != NULL &&
		    strcmp(str_at(c, "type", NULL), "Ready") == 0 &&
		    strcmp(str_at(c, "status", NULL), "True") == 0 && *runner != NULL)
			return 1;
	snprintf(msg, len, "BackupDefinition %s is not Ready yet", str_at(def, "metadata",
	    "name"));
	return 0;
}

/* 1 if the runner's StatefulSet has a pod (its controller's status.replicas). */
static int
has_pod(struct step *s, const char *runner, char *msg, size_t len)
{
	json_t	*sts;
	char	*path;
	int	 rc;

	path = xasprintf("/apis/apps/v1/namespaces/%s/statefulsets/%s",
	    s->r->opts.namespace, runner);
	rc = get_object(s->r, path, &sts);
	free(path);
	if (rc == 1 && json_integer_value(json_object_get(json_object_get(sts, "status"),
	    "replicas")) < 1)
		rc = 0;
	if (rc == 0)
		snprintf(msg, len, "runner %s has no pod yet", runner);
	json_decref(sts);
	return rc;
}

static json_t *
request_body(struct step *s)
{
	json_t	*body = json_pack("{s:s}", "requestId", s->run.uid);

	if (s->run.kind == RUN_RESTORE) {
		if (s->run.backup != NULL)
			json_object_set_new(body, "backup", json_string(s->run.backup));
		if (s->run.at != NULL)
			json_object_set_new(body, "at", json_string(s->run.at));
		if (s->run.database != NULL)
			json_object_set_new(body, "database", json_string(s->run.database));
	}
	return body;
}

/* Not asked yet (or not known to be): ask the runner, once per UID. */
static int
start(struct step *s, const struct runner_target *t, const char *runner, json_t *busy,
    const char *defid)
{
	json_t	*body, *out;
	char	 err[KB_ERRLEN], msg[KB_ERRLEN], why[2 * KB_ERRLEN];
	long	 status;
	int	 rc;

	if (json_object_get(busy, defid) != NULL)
		return 1;	/* its runner said 409 this round: the status says so */
	if (s->r->kube->write_gate != NULL && !*s->r->kube->write_gate)
		return 1;	/* not the leader any more */
	body = request_body(s);
	rc = runnerapi_call(&s->r->runners, t, "POST", s->run.kind == RUN_BACKUP ?
	    "/api/v1/backups" : "/api/v1/restores", body, &status, &out, err, sizeof(err));
	json_decref(body);
	if (rc == -1) {
		snprintf(why, sizeof(why), "runner %s: %s", runner, err);
		return pending(s, "RunnerUnavailable", why);
	}
	runnerapi_message(status, out, msg, sizeof(msg));
	if (status == 200 || status == 202)
		rc = apply_job(s, out, runner);
	else if (status == 409) {
		json_object_set_new(busy, defid, json_true());
		rc = pending(s, "Busy", msg);
	} else if (status == 400)
		rc = fail(s, "InvalidSpec", msg);
	else {
		snprintf(why, sizeof(why), "runner %s: %s%s", runner, msg, status == 401 ?
		    " (its configuration may not carry the token yet)" : status == 404 ?
		    " (no control API: an older runner, or no token in its configuration)" :
		    "");
		rc = pending(s, "RunnerUnavailable", why);
	}
	json_decref(out);
	return rc;
}

/* Asked: where the job is now. */
static int
follow(struct step *s, const struct runner_target *t, const char *runner,
    const char *job)
{
	json_t	*out;
	char	*path, err[KB_ERRLEN], msg[KB_ERRLEN];
	long	 status;
	int	 rc;

	path = xasprintf("/api/v1/jobs/%s", job);
	rc = runnerapi_call(&s->r->runners, t, "GET", path, NULL, &status, &out, err,
	    sizeof(err));
	free(path);
	if (rc == -1 || (status != 200 && status != 404)) {
		/* unreachable for now: still Running, asked again next time */
		log_kv(LOGL_WARN, "runner not reachable", "runner", runner, "error",
		    rc == -1 ? err : "unexpected answer", NULL);
		json_decref(out);
		return 1;
	}
	if (status == 404) {
		snprintf(msg, sizeof(msg), "runner %s no longer knows job %s (it was "
		    "replaced, and its state with it): see kbackup-runner list for what "
		    "was stored", runner, job);
		rc = fail(s, "JobLost", msg);
	} else
		rc = apply_job(s, out, runner);
	json_decref(out);
	return rc;
}

/* With the object parsed and final phases skipped: the definition, then the runner. */
static int
step_runner(struct step *s, json_t *busy)
{
	struct runner_target	 t;
	json_t			*def = NULL;
	const char		*runner, *job, *uid;
	char			*path, *defid, msg[KB_ERRLEN];
	int			 rc = 0;

	path = xasprintf(KB_CRD_PATH "/namespaces/%s/backupdefinitions/%s", s->run.namespace,
	    s->run.definition);
	rc = get_object(s->r, path, &def);
	free(path);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "BackupDefinition %s/%s not found",
		    s->run.namespace, s->run.definition);
		return fail(s, "DefinitionNotFound", msg);
	}
	if (!restore_target_ok(s, def, msg, sizeof(msg))) {
		json_decref(def);
		return fail(s, "InvalidSpec", msg);
	}
	if (!runner_ready(def, &runner, msg, sizeof(msg)) ||
	    (rc = has_pod(s, runner, msg, sizeof(msg))) != 1) {
		json_decref(def);
		return rc == -1 ? -1 : pending(s, "RunnerNotReady", msg);
	}
	uid = str_at(def, "metadata", "uid");
	runnerapi_target(&s->r->runners, s->run.namespace, s->run.definition, uid, runner,
	    &t);
	defid = xasprintf("%s/%s", s->run.namespace, s->run.definition);
	if ((job = str_at(s->obj, "status", "jobId")) == NULL)
		rc = start(s, &t, runner, busy, defid);
	else {
		char *copy = xstrdup(job);	/* the status may be replaced */

		rc = follow(s, &t, runner, copy);
		free(copy);
	}
	free(defid);
	runnerapi_target_free(&t);
	json_decref(def);
	return rc;
}

int
runs_step(struct reconciler *r, enum run_kind kind, json_t *objin, json_t *busy)
{
	struct step	 s;
	char		 err[KB_ERRLEN], *path;
	int		 rc;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.plural = runs_plural(kind);
	if (str_at(objin, "metadata", "namespace") == NULL ||
	    str_at(objin, "metadata", "name") == NULL)
		return 0;
	path = obj_path(s.plural, objin, NULL);
	rc = get_object(r, path, &s.obj);
	free(path);
	if (rc <= 0)
		return rc;
	if (runs_final(s.obj)) {
		json_decref(s.obj);
		return 0;
	}
	if (run_parse(s.obj, kind, &s.run, err, sizeof(err)) == -1) {
		s.run.generation = json_integer_value(json_object_get(json_object_get(s.obj,
		    "metadata"), "generation"));
		rc = s.run.name != NULL && s.run.namespace != NULL ?
		    fail(&s, "InvalidSpec", err) : 0;
	} else if (r->runners.keylen == 0)
		rc = pending(&s, "RunnerNotReady", "the operator has not read its API key "
		    "yet");
	else
		rc = step_runner(&s, busy);
	run_free(&s.run);
	json_decref(s.obj);
	return rc;
}
