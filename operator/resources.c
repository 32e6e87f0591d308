/*
 * resources: CRD objects (jansson) into struct definition / struct location.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"
#include "engines/pg_physical.h"
#include "runner/catalog/backup_id.h"
#include "operator/names.h"
#include "operator/resources.h"

static const char *const engines[] = {
	"postgres", "mysql", "cockroach", "sqlite", "redis", "etcd", NULL
};

static int
one_of(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

/* The member key of obj; NULL if it is left out (absent or null). */
static json_t *
member(json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	return v == NULL || json_is_null(v) ? NULL : v;
}

/* Optional string member; -1 if present but not a string. */
static int
get_str(json_t *obj, const char *key, char **out, char *err, size_t errlen)
{
	json_t	*v;

	*out = NULL;
	if ((v = member(obj, key)) == NULL)
		return 0;
	if (!json_is_string(v))
		return errf(err, errlen, "%s: expected a string", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int
get_bool(json_t *obj, const char *key, int *out, char *err, size_t errlen)
{
	json_t	*v;

	*out = -1;
	if ((v = member(obj, key)) == NULL)
		return 0;
	if (!json_is_boolean(v))
		return errf(err, errlen, "%s: expected true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* Optional object member of spec; -1 if present but not an object. */
static int
spec_object(json_t *spec, const char *key, json_t **out, char *err, size_t errlen)
{
	if ((*out = member(spec, key)) != NULL && !json_is_object(*out)) {
		*out = NULL;
		return errf(err, errlen, "spec.%s: expected an object", key);
	}
	return 0;
}

static void
ref_free(struct secret_ref *ref)
{
	free(ref->name);
	free(ref->key);
}

static int
get_ref(json_t *obj, const char *key, struct secret_ref *ref, char *err, size_t errlen)
{
	json_t	*v;

	memset(ref, 0, sizeof(*ref));
	if ((v = member(obj, key)) == NULL)
		return 0;
	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "name")) ||
	    !json_is_string(json_object_get(v, "key")))
		return errf(err, errlen, "%s: expected {name, key}", key);
	ref->name = xstrdup(json_string_value(json_object_get(v, "name")));
	ref->key = xstrdup(json_string_value(json_object_get(v, "key")));
	if (!names_is_dns1123_subdomain(ref->name) || ref->key[0] == '\0') {
		errf(err, errlen, "%s: invalid Secret name or key", key);
		ref_free(ref);
		memset(ref, 0, sizeof(*ref));
		return -1;
	}
	return 0;
}

/* DNS-1123 label: namespaces. */
static int
is_label(const char *s)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-')
			return 0;
	return 1;
}

static int
metadata(json_t *obj, char **ns, char **name, char **rv, int64_t *gen, char *err,
    size_t errlen)
{
	json_t	*md = json_object_get(obj, "metadata");

	*ns = *name = *rv = NULL;
	if (!json_is_object(md))
		return errf(err, errlen, "metadata: missing");
	if (get_str(md, "name", name, err, errlen) == -1 ||
	    get_str(md, "namespace", ns, err, errlen) == -1 ||
	    get_str(md, "resourceVersion", rv, err, errlen) == -1)
		return -1;
	if (*name == NULL || !names_is_dns1123_subdomain(*name))
		return errf(err, errlen, "metadata.name: missing or invalid");
	if (*ns == NULL)
		*ns = xstrdup("default");
	if (!is_label(*ns))
		return errf(err, errlen, "metadata.namespace: invalid");
	*gen = json_integer_value(json_object_get(md, "generation"));
	return 0;
}

static int
is_duration(const char *s, int off_ok)
{
	const char *p = s;

	if (off_ok && strcmp(s, "off") == 0)
		return 1;
	if (*p == '\0')
		return 0;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '\0' || strchr("smhdw", *p) == NULL)
			return 0;
		p++;
	}
	return 1;
}

int
schedule_valid(const char *s)
{
	static const char *const macros[] = {
		"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly",
		"@annually", NULL
	};
	const char	*p;
	int		 fields = 0, in = 0;

	if (one_of(s, macros))
		return 1;
	if (startswith(s, "@every "))
		return is_duration(s + 7, 0);
	for (p = s; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t') {
			in = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && strchr("*,/-?", *p) == NULL)
			return 0;
		if (!in)
			fields++;
		in = 1;
	}
	return fields == 5;
}

static int
is_key(const char *s)
{
	const char *p;

	if (!islower((unsigned char)s[0]))
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return 0;
	return p - s <= 64;
}

static void
add_setting(struct setting **v, size_t *n, const char *key, const char *value,
    const struct secret_ref *ref)
{
	struct setting	*s;

	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	s = &(*v)[(*n)++];
	memset(s, 0, sizeof(*s));
	s->key = xstrdup(key);
	if (value != NULL)
		s->value = xstrdup(value);
	if (ref != NULL)
		s->ref = *ref;
}

static char *
scalar_text(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

/*
 * A setting's value as the config writes it: a scalar, or an array of words
 * (a list key: databases, exclude, dump_options) joined with blanks -- so a
 * word may hold none.
 */
static char *
setting_text(json_t *v)
{
	json_t		*w;
	const char	*s;
	char		*text = NULL, *next;
	size_t		 i;

	if (!json_is_array(v))
		return scalar_text(v);
	if (json_array_size(v) == 0)
		return NULL;
	json_array_foreach(v, i, w) {
		s = json_is_string(w) ? json_string_value(w) : NULL;
		if (s == NULL || *s == '\0' || strpbrk(s, " \t\n") != NULL) {
			free(text);
			return NULL;
		}
		next = xasprintf("%s%s%s", text != NULL ? text : "", i > 0 ? " " : "", s);
		free(text);
		text = next;
	}
	return text;
}

static int
parse_settings(json_t *spec, struct definition *d, char *err, size_t errlen)
{
	json_t		*settings = json_object_get(spec, "settings");
	json_t		*refs = json_object_get(spec, "secretRefs"), *v;
	const char	*key;
	char		*text;
	struct secret_ref ref;

	if (settings != NULL && !json_is_object(settings))
		return errf(err, errlen, "spec.settings: expected an object");
	json_object_foreach(settings, key, v) {
		if (!is_key(key))
			return errf(err, errlen, "spec.settings.%s: invalid key", key);
		if (strcmp(key, "password") == 0)
			return errf(err, errlen,
			    "spec.settings.password: use passwordSecretRef");
		if ((text = setting_text(v)) == NULL)
			return errf(err, errlen, "spec.settings.%s: expected a string, integer, "
			    "boolean or an array of words without blanks", key);
		if (strchr(text, '\n') != NULL) {
			free(text);
			return errf(err, errlen, "spec.settings.%s: newline in value", key);
		}
		add_setting(&d->settings, &d->nsettings, key, text, NULL);
		free(text);
	}
	if (get_ref(spec, "passwordSecretRef", &ref, err, errlen) == -1)
		return errprefix(err, errlen, "spec");
	if (ref.name != NULL)
		add_setting(&d->settings, &d->nsettings, "password", NULL, &ref);
	if (refs != NULL && !json_is_object(refs))
		return errf(err, errlen, "spec.secretRefs: expected an object");
	json_object_foreach(refs, key, v) {
		if (!is_key(key) || json_object_get(settings, key) != NULL ||
		    strcmp(key, "password") == 0)
			return errf(err, errlen, "spec.secretRefs.%s: invalid or repeated key",
			    key);
		if (get_ref(refs, key, &ref, err, errlen) == -1)
			return errprefix(err, errlen, "spec.secretRefs");
		add_setting(&d->settings, &d->nsettings, key, NULL, &ref);
	}
	return 0;
}

static int
parse_retention(json_t *spec, struct definition *d, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"all", "hourly", "daily", "weekly", "monthly", "yearly", NULL
	};
	json_t		*r = json_object_get(spec, "retention"), *rules, *rule, *v;
	const char	*key, *name, *format, *keep;
	char		*text;
	size_t		 i;

	if (r == NULL)
		return 0;
	if (!json_is_object(r))
		return errf(err, errlen, "spec.retention: expected an object");
	json_object_foreach(r, key, v) {
		if (strcmp(key, "rules") == 0)
			continue;
		if (!one_of(key, keys))
			return errf(err, errlen, "spec.retention.%s: unknown key", key);
		if (!json_is_string(v) || !is_duration(json_string_value(v), 1))
			return errf(err, errlen,
			    "spec.retention.%s: expected a duration (7d, 12h) or off", key);
	}
	/* the runner's order, whatever the object's */
	for (i = 0; keys[i] != NULL; i++)
		if ((v = json_object_get(r, keys[i])) != NULL)
			add_setting(&d->retention, &d->nretention, keys[i],
			    json_string_value(v), NULL);
	rules = json_object_get(r, "rules");
	if (rules != NULL && !json_is_array(rules))
		return errf(err, errlen, "spec.retention.rules: expected a list");
	json_array_foreach(rules, i, rule) {
		name = json_string_value(json_object_get(rule, "name"));
		format = json_string_value(json_object_get(rule, "format"));
		keep = json_string_value(json_object_get(rule, "keep"));
		if (name == NULL || !names_is_dns1123_subdomain(name) ||
		    strchr(name, '.') != NULL || format == NULL || *format == '\0' ||
		    strchr(format, '\n') != NULL || keep == NULL || !is_duration(keep, 0))
			return errf(err, errlen,
			    "spec.retention.rules[%zu]: expected {name, format, keep}", i);
		text = xasprintf("rule.%s", name);
		{
			char *val = xasprintf("%s %s", format, keep);

			add_setting(&d->retention, &d->nretention, text, val, NULL);
			free(val);
		}
		free(text);
	}
	return 0;
}

static int
parse_affinity(json_t *spec, struct definition *d, char *err, size_t errlen)
{
	json_t		*a = json_object_get(spec, "podAffinity"), *labels, *w, *v;
	const char	*key;

	d->affinity_weight = 100;
	if (a == NULL)
		return 0;
	labels = json_object_get(a, "matchLabels");
	if (!json_is_object(labels) || json_object_size(labels) == 0)
		return errf(err, errlen, "spec.podAffinity.matchLabels: expected labels");
	json_object_foreach(labels, key, v)
		if (!json_is_string(v))
			return errf(err, errlen,
			    "spec.podAffinity.matchLabels.%s: expected a string", key);
	if ((w = json_object_get(a, "weight")) != NULL) {
		if (!json_is_integer(w) || json_integer_value(w) < 1 ||
		    json_integer_value(w) > 100)
			return errf(err, errlen, "spec.podAffinity.weight: expected 1..100");
		d->affinity_weight = (int)json_integer_value(w);
	}
	d->affinity_labels = json_incref(labels);
	return 0;
}

/* A resource quantity as Kubernetes writes them: 100m, 1.5, 2Gi, 1e3, 512Mi. */
static int
is_quantity(json_t *v)
{
	static const char *const suffixes[] = { "", "m", "k", "M", "G", "T", "P", "E",
	    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", NULL };
	const char	*s, *p;
	int		 digits = 0;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0;
	if ((s = json_string_value(v)) == NULL || strlen(s) > 64)
		return 0;
	for (p = s; isdigit((unsigned char)*p); p++)
		digits++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (digits == 0)
		return 0;
	if ((*p == 'e' || *p == 'E') && (isdigit((unsigned char)p[1]) ||
	    ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
		for (p += 2; isdigit((unsigned char)*p); p++)
			;
		return *p == '\0';
	}
	return one_of(p, suffixes);
}

/*
 * An object of label keys to label values (values: any string when
 * !label_values), none starting with a reserved prefix.
 */
static int
string_map(json_t *v, const char *what, int label_values, const char *const *reserved,
    char *err, size_t errlen)
{
	const char	*key;
	json_t		*val;
	size_t		 i;

	if (!json_is_object(v) || json_object_size(v) > 64)
		return errf(err, errlen, "%s: expected an object of at most 64 entries", what);
	json_object_foreach(v, key, val) {
		if (!names_is_label_key(key))
			return errf(err, errlen, "%s: invalid key %s", what, key);
		for (i = 0; reserved != NULL && reserved[i] != NULL; i++)
			if (startswith(key, reserved[i]))
				return errf(err, errlen, "%s.%s: the operator sets %s* itself",
				    what, key, reserved[i]);
		if (!json_is_string(val) || (label_values &&
		    !names_is_label_value(json_string_value(val))) ||
		    json_string_length(val) > 4096)
			return errf(err, errlen, "%s.%s: invalid value", what, key);
	}
	return 0;
}

static int
parse_resources(json_t *v, char *err, size_t errlen)
{
	const char	*key, *res;
	json_t		*q, *list;

	if (!json_is_object(v))
		return errf(err, errlen, "spec.runner.resources: expected an object");
	json_object_foreach(v, key, list) {
		if (strcmp(key, "requests") != 0 && strcmp(key, "limits") != 0)
			return errf(err, errlen, "spec.runner.resources.%s: expected requests "
			    "or limits", key);
		if (!json_is_object(list) || json_object_size(list) > 16)
			return errf(err, errlen, "spec.runner.resources.%s: expected an object",
			    key);
		json_object_foreach(list, res, q)
			if (!names_is_label_key(res) || !is_quantity(q))
				return errf(err, errlen, "spec.runner.resources.%s.%s: expected "
				    "a quantity such as 100m, 256Mi or 2", key, res);
	}
	return 0;
}

static int
parse_tolerations(json_t *v, char *err, size_t errlen)
{
	static const char *const members[] = { "key", "operator", "value", "effect",
	    "tolerationSeconds", NULL };
	static const char *const ops[] = { "Exists", "Equal", NULL };
	static const char *const effects[] = { "NoSchedule", "PreferNoSchedule",
	    "NoExecute", NULL };
	const char	*key, *op, *effect, *tkey, *value;
	json_t		*t, *m;
	size_t		 i;

	if (!json_is_array(v) || json_array_size(v) > 32)
		return errf(err, errlen, "spec.runner.tolerations: expected a list of at most "
		    "32");
	json_array_foreach(v, i, t) {
		if (!json_is_object(t))
			return errf(err, errlen, "spec.runner.tolerations[%zu]: expected an "
			    "object", i);
		json_object_foreach(t, key, m)
			if (!one_of(key, members) || (strcmp(key, "tolerationSeconds") == 0 ?
			    !json_is_integer(m) : !json_is_string(m)))
				return errf(err, errlen, "spec.runner.tolerations[%zu].%s: "
				    "unknown or of the wrong type", i, key);
		tkey = json_string_value(json_object_get(t, "key"));
		op = json_string_value(json_object_get(t, "operator"));
		value = json_string_value(json_object_get(t, "value"));
		effect = json_string_value(json_object_get(t, "effect"));
		if ((tkey != NULL && *tkey != '\0' && !names_is_label_key(tkey)) ||
		    (op != NULL && !one_of(op, ops)) ||
		    (effect != NULL && *effect != '\0' && !one_of(effect, effects)) ||
		    (value != NULL && !names_is_label_value(value)))
			return errf(err, errlen, "spec.runner.tolerations[%zu]: invalid key, "
			    "operator (Exists, Equal), value or effect (NoSchedule, "
			    "PreferNoSchedule, NoExecute)", i);
		if (op != NULL && strcmp(op, "Exists") == 0 && value != NULL && *value != '\0')
			return errf(err, errlen, "spec.runner.tolerations[%zu]: operator Exists "
			    "takes no value", i);
		if ((tkey == NULL || *tkey == '\0') && (op == NULL ||
		    strcmp(op, "Exists") != 0))
			return errf(err, errlen, "spec.runner.tolerations[%zu]: without a key "
			    "the operator must be Exists", i);
	}
	return 0;
}

/*
 * spec.runner of a definition or a location: NULL when not given, else an
 * object of the members listed only (hint: what to say about the others).
 */
static int
runner_object(json_t *spec, const char *const *members, const char *hint, json_t **out,
    char *err, size_t errlen)
{
	json_t		*p, *v;
	const char	*key;

	*out = NULL;
	if (spec_object(spec, "runner", &p, err, errlen) == -1)
		return -1;
	if (p == NULL)
		return 0;
	json_object_foreach(p, key, v)
		if (!one_of(key, members))
			return errf(err, errlen, "spec.runner.%s: unknown setting%s", key, hint);
	*out = p;
	return 0;
}

/* spec.runner: the runner pod's settings. */
static int
parse_runner(json_t *spec, struct definition *d, char *err, size_t errlen)
{
	static const char *const members[] = { "resources", "nodeSelector", "tolerations",
	    "priorityClassName", "labels", "annotations", NULL };
	/* selector, sweep and definition labels; the config hash */
	static const char *const labels[] = { "kbackup.io/", "app.kubernetes.io/", NULL };
	static const char *const annotations[] = { "kbackup.io/", NULL };
	json_t		*p, *v;

	if (runner_object(spec, members, " (the ServiceAccount is the "
	    "BackupStorageLocation's)", &p, err, errlen) == -1)
		return -1;
	if (p == NULL)
		return 0;
	if ((v = json_object_get(p, "resources")) != NULL &&
	    parse_resources(v, err, errlen) == -1)
		return -1;
	d->resources = json_incref(v);
	if ((v = json_object_get(p, "nodeSelector")) != NULL &&
	    string_map(v, "spec.runner.nodeSelector", 1, NULL, err, errlen) == -1)
		return -1;
	d->node_selector = json_incref(v);
	if ((v = json_object_get(p, "tolerations")) != NULL &&
	    parse_tolerations(v, err, errlen) == -1)
		return -1;
	d->tolerations = json_incref(v);
	if (get_str(p, "priorityClassName", &d->priority_class, err, errlen) == -1)
		return errprefix(err, errlen, "spec.runner");
	if (d->priority_class != NULL && !names_is_dns1123_subdomain(d->priority_class))
		return errf(err, errlen, "spec.runner.priorityClassName: invalid name");
	if ((v = json_object_get(p, "labels")) != NULL &&
	    string_map(v, "spec.runner.labels", 1, labels, err, errlen) == -1)
		return -1;
	d->pod_labels = json_incref(v);
	if ((v = json_object_get(p, "annotations")) != NULL &&
	    string_map(v, "spec.runner.annotations", 0, annotations, err, errlen) == -1)
		return -1;
	d->pod_annotations = json_incref(v);
	return 0;
}

/*
 * spec.pitr: point-in-time recovery of PostgreSQL, streamed by the runner
 * (the only WAL method a runner pod has).  The keys it sets are its own.
 */
static int
parse_pitr(json_t *spec, struct definition *d, char *err, size_t errlen)
{
	static const char *const own[] = { "method", "wal_method", "slot", "checkpoint",
	    NULL };
	json_t		*p;
	char		 e[256];
	size_t		 i, j;

	if (spec_object(spec, "pitr", &p, err, errlen) == -1)
		return -1;
	if (p == NULL)
		return 0;
	if (strcmp(d->engine, "postgres") != 0)
		return errf(err, errlen, "spec.pitr: only for engine postgres");
	if (strcmp(d->mode, "retained") != 0)
		return errf(err, errlen, "spec.pitr: needs mode retained");
	for (i = 0; own[i] != NULL; i++)
		for (j = 0; j < d->nsettings; j++)
			if (strcmp(d->settings[j].key, own[i]) == 0)
				return errf(err, errlen, "spec.settings.%s: set by spec.pitr",
				    own[i]);
	d->pitr = 1;
	if (get_str(p, "slot", &d->pitr_slot, err, errlen) == -1 ||
	    get_str(p, "checkpoint", &d->pitr_checkpoint, err, errlen) == -1)
		return errprefix(err, errlen, "spec.pitr");
	if (d->pitr_slot != NULL && pg_physical_check_slot(d->pitr_slot, e, sizeof(e)) == -1)
		return errf(err, errlen, "spec.pitr.slot: %s", e);
	if (d->pitr_checkpoint != NULL && strcmp(d->pitr_checkpoint, "fast") != 0 &&
	    strcmp(d->pitr_checkpoint, "spread") != 0)
		return errf(err, errlen, "spec.pitr.checkpoint: expected fast or spread");
	return 0;
}

static int
parse_enum(json_t *spec, const char *key, char **out, const char *def,
    const char *const *words, char *err, size_t errlen)
{
	if (get_str(spec, key, out, err, errlen) == -1)
		return errprefix(err, errlen, "spec");
	if (*out == NULL && def != NULL)
		*out = xstrdup(def);
	if (*out != NULL && words != NULL && !one_of(*out, words)) {
		char	list[128] = "";
		size_t	i;

		for (i = 0; words[i] != NULL; i++) {
			if (i > 0)
				strlcat(list, "|", sizeof(list));
			strlcat(list, words[i], sizeof(list));
		}
		return errf(err, errlen, "spec.%s: expected %s", key, list);
	}
	return 0;
}

static int
compression_valid(const char *s)
{
	const char	*errstr;

	if (strcmp(s, "zstd") == 0 || strcmp(s, "none") == 0)
		return 1;
	if (!startswith(s, "zstd:"))
		return 0;
	strtonum(s + 5, 1, 22, &errstr);
	return errstr == NULL;
}

int
definition_parse(json_t *obj, struct definition *d, const char **reason, char *err,
    size_t errlen)
{
	static const char *const modes[] = { "retained", "single", NULL };
	json_t		*md, *spec, *fin, *v;
	size_t		 i;
	int		 suspend;

	memset(d, 0, sizeof(*d));
	*reason = "InvalidSpec";
	d->obj = json_incref(obj);
	if (metadata(obj, &d->namespace, &d->name, &d->resource_version,
	    &d->generation, err, errlen) == -1)
		return -1;
	md = json_object_get(obj, "metadata");
	d->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
	    !json_is_null(json_object_get(md, "deletionTimestamp"));
	fin = json_object_get(md, "finalizers");
	json_array_foreach(fin, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), KB_FINALIZER) == 0)
			d->has_finalizer = 1;
	if (get_str(md, "uid", &d->uid, err, errlen) == -1)
		return -1;
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return errf(err, errlen, "spec: missing");
	if (parse_enum(spec, "engine", &d->engine, NULL, engines, err, errlen) == -1 ||
	    parse_enum(spec, "mode", &d->mode, "retained", modes, err, errlen) == -1 ||
	    parse_enum(spec, "timezone", &d->timezone, "UTC", NULL, err, errlen) == -1 ||
	    parse_enum(spec, "compression", &d->compression, "zstd", NULL, err,
	    errlen) == -1 ||
	    parse_enum(spec, "storageLocation", &d->storage_location, NULL, NULL, err,
	    errlen) == -1 ||
	    parse_enum(spec, "schedule", &d->schedule, NULL, NULL, err, errlen) == -1)
		return -1;
	if (d->engine == NULL)
		return errf(err, errlen, "spec.engine: missing");
	if (d->storage_location == NULL || !names_is_dns1123_subdomain(d->storage_location))
		return errf(err, errlen, "spec.storageLocation: missing or invalid");
	if (!compression_valid(d->compression))
		return errf(err, errlen, "spec.compression: expected zstd, zstd:1..22 or none");
	if (strchr(d->timezone, '\n') != NULL || strstr(d->timezone, "..") != NULL)
		return errf(err, errlen, "spec.timezone: invalid");
	if (get_bool(spec, "suspend", &suspend, err, errlen) == -1)
		return errprefix(err, errlen, "spec");
	d->suspend = suspend == 1;
	if (parse_settings(spec, d, err, errlen) == -1 ||
	    parse_retention(spec, d, err, errlen) == -1 ||
	    parse_affinity(spec, d, err, errlen) == -1 ||
	    parse_runner(spec, d, err, errlen) == -1 ||
	    parse_pitr(spec, d, err, errlen) == -1)
		return -1;
	if (d->schedule == NULL || !schedule_valid(d->schedule)) {
		*reason = "InvalidSchedule";
		return errf(err, errlen, "spec.schedule: expected 5-field cron, "
		    "@hourly/@daily/@weekly/@monthly or @every DURATION");
	}
	*reason = NULL;
	return 0;
}

static void
settings_free(struct setting *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
		ref_free(&v[i].ref);
	}
	free(v);
}

void
definition_free(struct definition *d)
{
	free(d->namespace);
	free(d->name);
	free(d->uid);
	free(d->resource_version);
	free(d->engine);
	settings_free(d->settings, d->nsettings);
	free(d->storage_location);
	free(d->schedule);
	free(d->timezone);
	free(d->mode);
	free(d->compression);
	settings_free(d->retention, d->nretention);
	json_decref(d->affinity_labels);
	json_decref(d->resources);
	json_decref(d->node_selector);
	json_decref(d->tolerations);
	free(d->priority_class);
	free(d->pitr_slot);
	free(d->pitr_checkpoint);
	json_decref(d->pod_labels);
	json_decref(d->pod_annotations);
	json_decref(d->obj);
	memset(d, 0, sizeof(*d));
}

/*
 * spec.runner.serviceAccountName: the identity of the runners of this
 * location (IRSA, Pod Identity, workload identity reach the bucket with
 * it).  On the location, not the definition: the ServiceAccount lives in
 * the operator's namespace, whose owners write locations; whoever may
 * write a definition must not pick the operator's own.
 */
static int
location_runner(json_t *spec, struct location *l, char *err, size_t errlen)
{
	static const char *const members[] = { "serviceAccountName", NULL };
	json_t		*p;

	if (runner_object(spec, members, "", &p, err, errlen) == -1)
		return -1;
	if (p == NULL)
		return 0;
	if (get_str(p, "serviceAccountName", &l->service_account, err, errlen) == -1)
		return errprefix(err, errlen, "spec.runner");
	if (l->service_account != NULL && !names_is_dns1123_subdomain(l->service_account))
		return errf(err, errlen, "spec.runner.serviceAccountName: invalid name");
	return 0;
}

int
location_parse(json_t *obj, struct location *l, char *err, size_t errlen)
{
	static const char *const types[] = { "s3", "file", NULL };
	json_t	*spec;

	memset(l, 0, sizeof(*l));
	l->path_style = l->tls_verify = -1;
	if (metadata(obj, &l->namespace, &l->name, &l->resource_version,
	    &l->generation, err, errlen) == -1)
		return -1;
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return errf(err, errlen, "spec: missing");
	if (parse_enum(spec, "type", &l->type, NULL, types, err, errlen) == -1 ||
	    get_str(spec, "endpoint", &l->endpoint, err, errlen) == -1 ||
	    get_str(spec, "region", &l->region, err, errlen) == -1 ||
	    get_str(spec, "bucket", &l->bucket, err, errlen) == -1 ||
	    get_str(spec, "prefix", &l->prefix, err, errlen) == -1 ||
	    get_str(spec, "path", &l->path, err, errlen) == -1 ||
	    get_str(spec, "caFile", &l->ca_file, err, errlen) == -1 ||
	    get_bool(spec, "pathStyle", &l->path_style, err, errlen) == -1 ||
	    get_bool(spec, "tlsVerify", &l->tls_verify, err, errlen) == -1 ||
	    get_ref(spec, "accessKeySecretRef", &l->access_key, err, errlen) == -1 ||
	    get_ref(spec, "secretKeySecretRef", &l->secret_key, err, errlen) == -1 ||
	    get_ref(spec, "encryptionKeySecretRef", &l->encryption_key, err, errlen) == -1)
		return errprefix(err, errlen, "spec");
	if (l->type == NULL)
		return errf(err, errlen, "spec.type: missing");
	if (strcmp(l->type, "s3") == 0 && l->bucket == NULL)
		return errf(err, errlen, "spec.bucket: required for type s3");
	if (strcmp(l->type, "file") == 0 && l->path == NULL)
		return errf(err, errlen, "spec.path: required for type file");
	if (l->endpoint != NULL && !startswith(l->endpoint, "http://") &&
	    !startswith(l->endpoint, "https://"))
		return errf(err, errlen, "spec.endpoint: expected an http(s) URL");
	return location_runner(spec, l, err, errlen);
}

void
location_free(struct location *l)
{
	free(l->namespace);
	free(l->name);
	free(l->resource_version);
	free(l->type);
	free(l->endpoint);
	free(l->region);
	free(l->bucket);
	free(l->prefix);
	free(l->path);
	free(l->ca_file);
	ref_free(&l->access_key);
	ref_free(&l->secret_key);
	ref_free(&l->encryption_key);
	free(l->service_account);
	memset(l, 0, sizeof(*l));
}

/* A backup ID (runner/catalog/backup_id.h): 20261124T030000Z-3fa94c, or without -HEX. */
static int
is_backup_id(const char *s)
{
	time_t	t;

	return backup_id_parse(s, &t) == 0;
}

static int
restore_spec(json_t *spec, struct run *run, char *err, size_t errlen)
{
	int	into;
	size_t	i;

	if (get_str(spec, "backup", &run->backup, err, errlen) == -1 ||
	    get_str(spec, "at", &run->at, err, errlen) == -1 ||
	    get_str(spec, "database", &run->database, err, errlen) == -1 ||
	    get_bool(spec, "intoSourceDatabase", &into, err, errlen) == -1)
		return errprefix(err, errlen, "spec");
	run->into_source = into == 1;
	if (run->backup != NULL && strcmp(run->backup, "latest") != 0 &&
	    !is_backup_id(run->backup))
		return errf(err, errlen, "spec.backup: expected latest or a backup ID "
		    "(20261124T030000Z-3fa94c)");
	if (run->at != NULL && (*run->at == '\0' || strlen(run->at) > 63 ||
	    strpbrk(run->at, "\r\n") != NULL))
		return errf(err, errlen, "spec.at: expected a time (2026-11-24T03:00:00Z)");
	if (run->backup != NULL && run->at != NULL)
		return errf(err, errlen, "spec: give backup or at, not both");
	if (run->database != NULL && (*run->database == '\0' || *run->database == '-' ||
	    strlen(run->database) > 255))
		return errf(err, errlen, "spec.database: expected a database name");
	for (i = 0; run->database != NULL && run->database[i] != '\0'; i++)
		if ((unsigned char)run->database[i] < 0x20)
			return errf(err, errlen, "spec.database: control character");
	if (run->database == NULL && !run->into_source)
		return errf(err, errlen, "spec: no target database: give spec.database, or "
		    "spec.intoSourceDatabase: true to restore over the definition's own "
		    "database");
	return 0;
}

int
run_parse(json_t *obj, enum run_kind kind, struct run *run, char *err, size_t errlen)
{
	static const char *const backup_members[] = { "definition", NULL };
	static const char *const restore_members[] = { "definition", "backup", "at",
	    "database", "intoSourceDatabase", NULL };
	json_t		*spec, *v;
	const char	*key;

	memset(run, 0, sizeof(*run));
	run->kind = kind;
	run->obj = json_incref(obj);
	if (metadata(obj, &run->namespace, &run->name, &run->resource_version,
	    &run->generation, err, errlen) == -1 ||
	    get_str(json_object_get(obj, "metadata"), "uid", &run->uid, err, errlen) == -1)
		return -1;
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return errf(err, errlen, "spec: missing");
	json_object_foreach(spec, key, v)
		if (!one_of(key, kind == RUN_BACKUP ? backup_members : restore_members))
			return errf(err, errlen, "spec.%s: unknown field", key);
	if (get_str(spec, "definition", &run->definition, err, errlen) == -1)
		return errprefix(err, errlen, "spec");
	if (run->definition == NULL || !config_is_name(run->definition))
		return errf(err, errlen, "spec.definition: expected the name of a "
		    "BackupDefinition in namespace %s", run->namespace);
	return kind == RUN_RESTORE ? restore_spec(spec, run, err, errlen) : 0;
}

void
run_free(struct run *run)
{
	free(run->namespace);
	free(run->name);
	free(run->uid);
	free(run->resource_version);
	free(run->definition);
	free(run->backup);
	free(run->at);
	free(run->database);
	json_decref(run->obj);
	memset(run, 0, sizeof(*run));
}
