/*
 * render: desired Secret, StatefulSet and Service of one definition.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/config.h"
#include "common/util.h"
#include "engines/engine.h"
#include "operator/names.h"
#include "operator/render.h"
#include "runner/schema.h"
#include "storage/storage.h"

struct ctx {
	const struct definition	*d;
	const struct location	*l;
	const struct render_opts *o;
	struct config		*cfg;
	const char		*reason;
	char			*err;
	size_t			 errlen;
};

json_t *
render_labels(const char *ns, const char *name)
{
	char	*nsv = names_label_value(ns), *namev = names_label_value(name);
	json_t	*labels;

	labels = json_pack("{s:s, s:s, s:s, s:s}",
	    LABEL_MANAGED_BY, RENDER_MANAGED_BY,
	    "app.kubernetes.io/name", "kbackup-runner",
	    LABEL_DEF_NAMESPACE, nsv,
	    LABEL_DEF_NAME, namev);
	free(nsv);
	free(namev);
	return labels;
}

void
render_set_spec_hash(json_t *obj)
{
	json_t	*ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
	char	*text, hash[NAMES_HASH_HEX];

	json_object_del(ann, ANN_SPEC_HASH);
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	names_sha256_hex(text, strlen(text), hash);
	free(text);
	json_object_set_new(ann, ANN_SPEC_HASH, json_string(hash));
}

static int
set(struct ctx *c, const char *section, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if (strpbrk(value, "\r\n") != NULL) {
		c->reason = "InvalidSpec";
		return errf(c->err, c->errlen, "[%s] %s: newline in value", section, key);
	}
	config_set(c->cfg, section, key, value);
	return 0;
}

/* Fetches ref from ns into [section] key; the value is wiped after use. */
static int
set_secret(struct ctx *c, const char *section, const char *key, const char *ns,
    const struct secret_ref *ref)
{
	char	*value = NULL;
	int	 rc;

	if (ref->name == NULL)
		return 0;
	rc = c->o->secret(c->o->secret_arg, ns, ref->name, ref->key, &value, c->err,
	    c->errlen);
	if (rc == 1) {
		c->reason = "SecretNotFound";
		return errf(c->err, c->errlen, "Secret %s/%s: no key %s, or no such "
		    "Secret the operator may read", ns, ref->name, ref->key);
	}
	if (rc == -1) {
		c->reason = NULL;
		return -1;
	}
	if (strpbrk(value, "\r\n") != NULL) {
		freezero(value, strlen(value));
		c->reason = "InvalidSpec";
		return errf(c->err, c->errlen, "Secret %s/%s key %s: newline in value",
		    ns, ref->name, ref->key);
	}
	config_set_secret(c->cfg, section, key, value);
	freezero(value, strlen(value));
	return 0;
}

static int
build_config(struct ctx *c)
{
	const struct definition	*d = c->d;
	const struct location	*l = c->l;
	size_t			 i;

	if (set(c, "backup", "name", d->name) == -1 ||
	    set(c, "backup", "namespace", d->namespace) == -1 ||
	    set(c, "backup", "engine", d->engine) == -1 ||
	    set(c, "backup", "schedule", d->schedule) == -1 ||
	    set(c, "backup", "timezone", d->timezone) == -1 ||
	    set(c, "backup", "mode", d->mode) == -1 ||
	    set(c, "backup", "compression", d->compression) == -1 ||
	    set(c, "backup", "workdir", RENDER_WORKDIR) == -1)
		return -1;
	if (strcmp(d->mode, "retained") == 0)
		for (i = 0; i < d->nretention; i++)
			if (set(c, "retention", d->retention[i].key,
			    d->retention[i].value) == -1)
				return -1;
	for (i = 0; i < d->nsettings; i++) {
		const struct setting *s = &d->settings[i];

		if (s->value != NULL && set(c, d->engine, s->key, s->value) == -1)
			return -1;
		if (s->value == NULL &&
		    set_secret(c, d->engine, s->key, d->namespace, &s->ref) == -1)
			return -1;
	}
	/* spec.pitr: the runner streams WAL with its slot (kbackup.conf(5), [postgres]). */
	if (d->pitr && (set(c, d->engine, "method", "physical") == -1 ||
	    set(c, d->engine, "wal_method", "stream") == -1 ||
	    set(c, d->engine, "slot", d->pitr_slot) == -1 ||
	    set(c, d->engine, "checkpoint", d->pitr_checkpoint) == -1))
		return -1;
	if (set(c, "storage", "type", l->type) == -1 ||
	    set(c, "storage", "endpoint", l->endpoint) == -1 ||
	    set(c, "storage", "region", l->region) == -1 ||
	    set(c, "storage", "bucket", l->bucket) == -1 ||
	    set(c, "storage", "prefix", l->prefix) == -1 ||
	    set(c, "storage", "path", l->path) == -1 ||
	    set(c, "storage", "path_style", l->path_style == -1 ? NULL :
	    l->path_style ? "true" : "false") == -1 ||
	    set(c, "storage", "tls_verify", l->tls_verify == -1 ? NULL :
	    l->tls_verify ? "true" : "false") == -1 ||
	    set(c, "storage", "ca_file", l->ca_file) == -1 ||
	    set_secret(c, "storage", "access_key", l->namespace, &l->access_key) == -1 ||
	    set_secret(c, "storage", "secret_key", l->namespace, &l->secret_key) == -1 ||
	    set_secret(c, "storage", "encryption_key", l->namespace,
	    &l->encryption_key) == -1)
		return -1;
	if (set(c, "metrics", "listen", "0.0.0.0:9187") == -1)
		return -1;
	if (c->o->api_key != NULL) {
		char	token[NAMES_HASH_HEX];

		names_api_token(c->o->api_key, c->o->api_key_len, d->namespace, d->name,
		    d->uid, token);
		config_set_secret(c->cfg, "metrics", "api_token", token);
		explicit_bzero(token, sizeof(token));
	}
	return 0;
}

static json_t *
metadata(const char *name, const struct render_opts *o, const struct definition *d)
{
	json_t	*labels = render_labels(d->namespace, d->name);

	json_object_set_new(labels, "app.kubernetes.io/instance", json_string(name));
	return json_pack("{s:s, s:s, s:o, s:{s:s++}}",
	    "name", name, "namespace", o->namespace, "labels", labels,
	    "annotations", ANN_DEFINITION, d->namespace, "/", d->name);
}

char *
render_base64(const char *s)
{
	size_t	 len = strlen(s);
	char	*out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
	return out;
}

char *
render_base64_decode(const char *in, size_t *outlen)
{
	size_t	 len = strlen(in), pad = 0;
	char	*out;
	int	 n;

	if (len % 4 != 0)
		return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	if ((n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)len)) < 0) {
		free(out);
		return NULL;
	}
	while (len > 0 && in[len - 1] == '=') {
		pad++;
		len--;
	}
	*outlen = (size_t)n - pad;
	out[*outlen] = '\0';
	return out;
}

static json_t *
render_secret(const char *name, const struct ctx *c, const char *config)
{
	char	*b64 = render_base64(config);
	json_t	*obj;

	obj = json_pack("{s:s, s:s, s:o, s:s, s:{s:s}}",
	    "apiVersion", "v1", "kind", "Secret",
	    "metadata", metadata(name, c->o, c->d),
	    "type", "Opaque",
	    "data", RENDER_CONFIG_KEY, b64);
	freezero(b64, strlen(b64));
	return obj;
}

static json_t *
selector(const char *name)
{
	return json_pack("{s:s, s:s}", "app.kubernetes.io/name", "kbackup-runner",
	    "app.kubernetes.io/instance", name);
}

/* What the engine says its pod needs; a default when it says nothing. */
static void
engine_pod_of(const struct ctx *c, struct engine_pod *pod)
{
	const struct engine_desc *e = engine_desc_find(c->d->engine);
	const struct config_section *sec = config_section(c->cfg, c->d->engine);

	memset(pod, 0, sizeof(*pod));
	if (e != NULL && e->pod != NULL && sec != NULL)
		e->pod(sec, pod);
}

static char *
image_of(const struct ctx *c, const struct engine_pod *pod)
{
	const char	*slash;

	if (pod->image == NULL)
		return xasprintf("kbackup/runner-%s:%s", c->d->engine, c->o->version);
	slash = strrchr(pod->image, '/');
	if (strchr(slash != NULL ? slash : pod->image, ':') != NULL ||
	    strchr(pod->image, '@') != NULL)
		return xstrdup(pod->image);
	return xasprintf("%s:%s", pod->image, c->o->version);
}

static json_t *
container(const struct ctx *c, const struct engine_pod *pod)
{
	json_t		*ctr, *ports, *env, *mounts;
	char		*image = image_of(c, pod), *pname;
	const char	*eq, *colon;
	size_t		 i;

	ports = json_pack("[{s:s, s:i, s:s}]", "name", "metrics",
	    "containerPort", RENDER_METRICS_PORT, "protocol", "TCP");
	for (i = 0; i < 4 && pod->ports[i] != 0; i++) {
		pname = xasprintf("engine-%zu", i);
		json_array_append_new(ports, json_pack("{s:s, s:i, s:s}", "name", pname,
		    "containerPort", pod->ports[i], "protocol", "TCP"));
		free(pname);
	}
	env = json_array();
	for (i = 0; pod->env != NULL && pod->env[i] != NULL; i++) {
		if ((eq = strchr(pod->env[i], '=')) == NULL)
			continue;
		json_array_append_new(env, json_pack("{s:s%, s:s}", "name", pod->env[i],
		    (size_t)(eq - pod->env[i]), "value", eq + 1));
	}
	mounts = json_pack("[{s:s, s:s, s:b}, {s:s, s:s}, {s:s, s:s}]",
	    "name", "config", "mountPath", RENDER_CONFIG_DIR, "readOnly", 1,
	    "name", "work", "mountPath", RENDER_WORKDIR,
	    "name", "tmp", "mountPath", "/tmp");
	for (i = 0; pod->volumes != NULL && pod->volumes[i] != NULL; i++) {
		if ((colon = strchr(pod->volumes[i], ':')) == NULL)
			continue;
		json_array_append_new(mounts, json_pack("{s:s%, s:s}", "name",
		    pod->volumes[i], (size_t)(colon - pod->volumes[i]), "mountPath",
		    colon + 1));
	}
	ctr = json_pack("{s:s, s:s, s:s, s:[s,s,s], s:o, s:o, s:o, s:{s:b, s:b, s:b, s:{s:[s]}}, "
	    "s:{s:{s:s, s:s}, s:i, s:i}, s:{s:{s:s, s:s}, s:i, s:i}, "
	    "s:{s:{s:s, s:s}, s:{s:s, s:s}}}",
	    "name", "runner", "image", image, "imagePullPolicy", "IfNotPresent",
	    "args", "-c", RENDER_CONFIG_DIR "/" RENDER_CONFIG_KEY, "run",
	    "ports", ports, "env", env, "volumeMounts", mounts,
	    "securityContext", "allowPrivilegeEscalation", 0,
	    "readOnlyRootFilesystem", 1, "runAsNonRoot", 1, "capabilities", "drop", "ALL",
	    "readinessProbe", "httpGet", "path", "/healthz", "port", "metrics",
	    "periodSeconds", 10, "timeoutSeconds", 5,
	    "livenessProbe", "httpGet", "path", "/healthz", "port", "metrics",
	    "periodSeconds", 30, "timeoutSeconds", 5,
	    "resources", "requests", "cpu", "50m", "memory", "64Mi",
	    "limits", "cpu", "2", "memory", "512Mi");
	free(image);
	if (json_array_size(env) == 0)
		json_object_del(ctr, "env");
	/* spec.runner.resources: requests and limits each replace the default's */
	json_object_update(json_object_get(ctr, "resources"), c->d->resources);
	return ctr;
}

static json_t *
pod_spec(const char *name, const struct ctx *c, const struct engine_pod *pod)
{
	json_t	*spec, *vols, *aff;
	size_t	 i;
	const char *colon;

	vols = json_pack("[{s:s, s:{s:s, s:i}}, {s:s, s:{}}, {s:s, s:{}}]",
	    "name", "config", "secret", "secretName", name, "defaultMode", 0440,
	    "name", "work", "emptyDir", "name", "tmp", "emptyDir");
	for (i = 0; pod->volumes != NULL && pod->volumes[i] != NULL; i++)
		if ((colon = strchr(pod->volumes[i], ':')) != NULL)
			json_array_append_new(vols, json_pack("{s:s%, s:{}}", "name",
			    pod->volumes[i], (size_t)(colon - pod->volumes[i]),
			    "emptyDir"));
	spec = json_pack("{s:b, s:b, s:{s:b, s:i, s:i, s:i, s:{s:s}}, s:i, s:[o], s:o}",
	    "automountServiceAccountToken", 0, "enableServiceLinks", 0,
	    "securityContext", "runAsNonRoot", 1, "runAsUser", 65532, "runAsGroup", 65532,
	    "fsGroup", 65532, "seccompProfile", "type", "RuntimeDefault",
	    "terminationGracePeriodSeconds", 300,
	    "containers", container(c, pod),
	    "volumes", vols);
	/* the token only where a ServiceAccount is given: the runner never uses it */
	if (c->l->service_account != NULL) {
		json_object_set_new(spec, "serviceAccountName",
		    json_string(c->l->service_account));
		json_object_set_new(spec, "automountServiceAccountToken", json_true());
	}
	if (c->d->node_selector != NULL && json_object_size(c->d->node_selector) > 0)
		json_object_set(spec, "nodeSelector", c->d->node_selector);
	if (c->d->tolerations != NULL && json_array_size(c->d->tolerations) > 0)
		json_object_set_new(spec, "tolerations", json_deep_copy(c->d->tolerations));
	if (c->d->priority_class != NULL)
		json_object_set_new(spec, "priorityClassName",
		    json_string(c->d->priority_class));
	if (c->o->image_pull_secrets != NULL &&
	    json_array_size(c->o->image_pull_secrets) > 0)
		json_object_set_new(spec, "imagePullSecrets",
		    json_deep_copy(c->o->image_pull_secrets));
	if (c->d->affinity_labels != NULL) {
		aff = json_pack("{s:{s:[{s:i, s:{s:{s:O}, s:[s], s:s}}]}}",
		    "podAffinity", "preferredDuringSchedulingIgnoredDuringExecution",
		    "weight", c->d->affinity_weight, "podAffinityTerm",
		    "labelSelector", "matchLabels", c->d->affinity_labels,
		    "namespaces", c->d->namespace,
		    "topologyKey", "kubernetes.io/hostname");
		json_object_set_new(spec, "affinity", aff);
	}
	return spec;
}

static json_t *
render_statefulset(const char *name, const struct ctx *c, const char *hash,
    const struct engine_pod *pod)
{
	json_t	*labels, *ann, *obj;

	/*
	 * The definition's extra labels and annotations first, ours over them
	 * (the definition's parser refuses keys of ours anyway).
	 */
	labels = c->d->pod_labels != NULL ? json_deep_copy(c->d->pod_labels) :
	    json_object();
	json_object_update_new(labels, render_labels(c->d->namespace, c->d->name));
	json_object_update_new(labels, selector(name));
	ann = c->d->pod_annotations != NULL ? json_deep_copy(c->d->pod_annotations) :
	    json_object();
	json_object_set_new(ann, ANN_CONFIG_HASH, json_string(hash));
	obj = json_pack("{s:s, s:s, s:o, s:{s:i, s:s, s:s, s:{s:o}, "
	    "s:{s:{s:o, s:o}, s:o}}}",
	    "apiVersion", "apps/v1", "kind", "StatefulSet",
	    "metadata", metadata(name, c->o, c->d),
	    "spec", "replicas", c->d->suspend ? 0 : 1, "serviceName", name,
	    "podManagementPolicy", "OrderedReady",
	    "selector", "matchLabels", selector(name),
	    "template", "metadata", "labels", labels,
	    "annotations", ann,
	    "spec", pod_spec(name, c, pod));
	return obj;
}

static json_t *
render_service(const char *name, const struct ctx *c, const struct engine_pod *pod)
{
	json_t	*ports, *obj;
	char	*pname;
	size_t	 i;

	ports = json_pack("[{s:s, s:i, s:i, s:s}]", "name", "metrics",
	    "port", RENDER_METRICS_PORT, "targetPort", RENDER_METRICS_PORT,
	    "protocol", "TCP");
	for (i = 0; i < 4 && pod->ports[i] != 0; i++) {
		pname = xasprintf("engine-%zu", i);
		json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}",
		    "name", pname, "port", pod->ports[i], "targetPort", pod->ports[i],
		    "protocol", "TCP"));
		free(pname);
	}
	/*
	 * Published while not ready: the runner's readiness is its last job's
	 * result (/healthz), and a runner whose backup failed must still be
	 * reachable for its metrics and its control API.
	 */
	obj = json_pack("{s:s, s:s, s:o, s:{s:s, s:o, s:o, s:b}}",
	    "apiVersion", "v1", "kind", "Service",
	    "metadata", metadata(name, c->o, c->d),
	    "spec", "type", "ClusterIP", "selector", selector(name), "ports", ports,
	    "publishNotReadyAddresses", 1);
	return obj;
}

int
render_definition(const struct definition *d, const struct location *l,
    const struct render_opts *o, struct rendered *r, const char **reason, char *err,
    size_t errlen)
{
	struct ctx		c;
	struct engine_pod	pod;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	c.d = d;
	c.l = l;
	c.o = o;
	c.err = err;
	c.errlen = errlen;
	*reason = "InvalidSpec";
	if (!config_is_name(d->name))
		return errf(err, errlen, "name %s: the runner needs [a-z0-9-], at most "
		    "63 characters", d->name);
	if (l == NULL) {
		*reason = "LocationNotFound";
		return errf(err, errlen, "BackupStorageLocation %s/%s not found",
		    o->namespace, d->storage_location);
	}
	c.cfg = config_new(RENDER_CONFIG_KEY);
	if (build_config(&c) == -1) {
		*reason = c.reason;
		config_free(c.cfg);
		return -1;
	}
	/*
	 * The runner's own checks, where this build knows the engine: a config
	 * the runner would refuse is the definition's fault, said in its status,
	 * not a runner in a crash loop.  (An engine or backend this build lacks
	 * is left to the runner image, which has it.)
	 */
	if (engine_desc_find(d->engine) != NULL && storage_desc_find(l->type) != NULL &&
	    (config_validate(c.cfg, runner_schema(), err, errlen) == -1 ||
	    runner_config_check(c.cfg, err, errlen) == -1)) {
		config_free(c.cfg);
		return errprefix(err, errlen, "kbackup.conf");
	}
	if ((r->config = config_write_string(c.cfg)) == NULL) {
		config_free(c.cfg);
		return errf(err, errlen, "a value cannot be written to kbackup.conf "
		    "(it holds both ' and \")");
	}
	names_sha256_hex(r->config, strlen(r->config), r->config_hash);
	r->name = names_runner(d->namespace, d->name, NAMES_MAX);
	engine_pod_of(&c, &pod);
	r->secret = render_secret(r->name, &c, r->config);
	r->statefulset = render_statefulset(r->name, &c, r->config_hash, &pod);
	r->service = render_service(r->name, &c, &pod);
	config_free(c.cfg);
	render_set_spec_hash(r->secret);
	render_set_spec_hash(r->statefulset);
	render_set_spec_hash(r->service);
	*reason = NULL;
	return 0;
}

void
render_wipe_secret(json_t *secret)
{
	static const char *const members[] = { "data", "stringData", NULL };
	const char	*key;
	json_t		*v;
	size_t		 i;

	for (i = 0; members[i] != NULL; i++)
		json_object_foreach(json_object_get(secret, members[i]), key, v)
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

void
rendered_free(struct rendered *r)
{
	free(r->name);
	if (r->config != NULL)
		freezero(r->config, strlen(r->config));
	/* only the last holder wipes: `render` still prints what it shares */
	if (r->secret != NULL && r->secret->refcount == 1)
		render_wipe_secret(r->secret);
	json_decref(r->secret);
	json_decref(r->statefulset);
	json_decref(r->service);
	memset(r, 0, sizeof(*r));
}
