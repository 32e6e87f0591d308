/*
 * labels: retention labels, the index of backups holding them, the prune
 * plan, and their JSON form.  See labels.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/config.h"
#include "common/tz.h"
#include "common/util.h"
#include "runner/catalog/labels.h"

#define LABELS_VERSION	1
#define FORMAT_CONVS	"aAbBCdDeFgGhHIjmMpRTuUVwWyY%"

static const struct {
	const char	*name;
	const char	*format;
	int64_t		 keep;
} presets[] = {
	{ "all", NULL, 3600 },
	{ "hourly", "%Y-%m-%dT%H", 24 * 3600 },
	{ "daily", "%Y-%m-%d", 7 * 86400 },
	{ "weekly", "%G-W%V", 31 * 86400 },
	{ "monthly", "%Y-%m", 365 * 86400 },
	{ "yearly", "%Y", -1 },
};
#define NPRESETS	(sizeof(presets) / sizeof(presets[0]))

static int
preset_index(const char *name)
{
	size_t	i;

	for (i = 0; i < NPRESETS; i++)
		if (strcmp(presets[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Rules. */

void
labels_rules_init(struct label_rules *r)
{
	r->v = NULL;
	r->n = 0;
}

void
labels_rules_defaults(struct label_rules *r)
{
	size_t	i;

	labels_rules_init(r);
	r->v = xcalloc(NPRESETS, sizeof(*r->v));
	for (i = 0; i < NPRESETS; i++) {
		r->v[i].name = xstrdup(presets[i].name);
		r->v[i].format = presets[i].format ? xstrdup(presets[i].format) : NULL;
		r->v[i].keep = presets[i].keep;
	}
	r->n = NPRESETS;
}

void
labels_rules_free(struct label_rules *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].format);
	}
	free(r->v);
	labels_rules_init(r);
}

int
labels_format_check(const char *f, char *err, size_t errlen)
{
	const char	*p;
	int		 convs = 0;

	if (*f == '\0')
		return errf(err, errlen, "empty format");
	if (strlen(f) > LABELS_FORMAT_MAX)
		return errf(err, errlen, "format longer than %d characters", LABELS_FORMAT_MAX);
	for (p = f; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return errf(err, errlen, "format contains a control character");
		if (*p != '%')
			continue;
		p++;
		if (*p == '\0' || strchr(FORMAT_CONVS, *p) == NULL)
			return errf(err, errlen, "format: %%%c is not one of the conversions "
			    "%%a %%A %%b %%B %%C %%d %%D %%e %%F %%g %%G %%h %%H %%I %%j "
			    "%%m %%M %%p %%R %%T %%u %%U %%V %%w %%W %%y %%Y %%%%",
			    *p != '\0' ? *p : ' ');
		if (*p != '%')
			convs++;
	}
	if (convs == 0)
		return errf(err, errlen, "format \"%s\" has no %% conversion, so every "
		    "backup would get the same label", f);
	return 0;
}

int
labels_rules_set(struct label_rules *r, const char *name, const char *format,
    int64_t keep, char *err, size_t errlen)
{
	struct label_rule	*rule = NULL;
	size_t			 i;
	int			 p;

	if (!config_is_name(name))
		return errf(err, errlen, "rule name \"%.64s\": expected lowercase letters, "
		    "digits and inner '-'", name);
	p = preset_index(name);
	if (format == NULL && p == -1)
		return errf(err, errlen, "rule %s needs a format", name);
	if (format == NULL)
		format = presets[p].format;	/* NULL for "all" */
	if (format != NULL && labels_format_check(format, err, errlen) == -1)
		return errprefix(err, errlen, "rule %s", name);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			rule = &r->v[i];
	if (rule == NULL) {
		if (r->n >= LABELS_RULES_MAX)
			return errf(err, errlen, "more than %d retention rules",
			    LABELS_RULES_MAX);
		r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
		rule = &r->v[r->n++];
		rule->name = xstrdup(name);
	} else
		free(rule->format);
	rule->format = format != NULL ? xstrdup(format) : NULL;
	rule->keep = keep < 0 ? -1 : keep;
	return 0;
}

/* "FORMAT DURATION": splits at the last blank. */
static int
parse_rule_value(const char *value, char **format, int64_t *keep, char *err, size_t errlen)
{
	const char	*sp, *d;
	size_t		 flen;

	while (*value == ' ' || *value == '\t')
		value++;
	sp = strrchr(value, ' ');
	if (strrchr(value, '\t') > sp)
		sp = strrchr(value, '\t');
	if (sp == NULL || sp == value || sp[1] == '\0')
		return errf(err, errlen, "expected STRFTIME-FORMAT DURATION, e.g. "
		    "\"%%Y-%%m 90d\"");
	d = sp + 1;
	if (strcmp(d, "off") == 0)
		*keep = -1;
	else if (config_parse_duration(d, keep) == -1)
		return errf(err, errlen, "\"%.32s\" is not a duration (such as 90d) or off",
		    d);
	flen = (size_t)(sp - value);
	while (flen > 0 && (value[flen - 1] == ' ' || value[flen - 1] == '\t'))
		flen--;
	*format = xstrndup(value, flen);
	if (labels_format_check(*format, err, errlen) == -1) {
		free(*format);
		*format = NULL;
		return -1;
	}
	return 0;
}

int
labels_rule_check(const char *value, char *err, size_t errlen)
{
	char	*format;
	int64_t	 keep;

	if (parse_rule_value(value, &format, &keep, err, errlen) == -1)
		return -1;
	free(format);
	return 0;
}

int
labels_rules_from_config(const struct config_section *s, struct label_rules *r,
    char *err, size_t errlen)
{
	const char	*v;
	char		*format;
	int64_t		 keep;
	size_t		 i;

	labels_rules_defaults(r);
	if (s == NULL)
		return 0;
	for (i = 0; i < NPRESETS; i++) {
		if ((v = config_get(s, presets[i].name)) == NULL)
			continue;
		if (strcmp(v, "off") == 0)
			keep = -1;
		else if (config_parse_duration(v, &keep) == -1) {
			labels_rules_free(r);
			return errf(err, errlen, "[retention] %s: \"%.32s\" is not a "
			    "duration such as 7d, or off", presets[i].name, v);
		}
		labels_rules_set(r, presets[i].name, NULL, keep, NULL, 0);
	}
	for (i = 0; i < s->nentries; i++) {
		const char	*key = s->entries[i].key;

		if (!startswith(key, "rule."))
			continue;
		format = NULL;
		if (preset_index(key + 5) != -1) {
			labels_rules_free(r);
			return errf(err, errlen, "[retention] %s: %s is a preset; set "
			    "\"%s = DURATION\" instead", key, key + 5, key + 5);
		}
		if (parse_rule_value(s->entries[i].value, &format, &keep, err,
		    errlen) == -1 ||
		    labels_rules_set(r, key + 5, format, keep, err, errlen) == -1) {
			if (format != NULL)
				free(format);
			labels_rules_free(r);
			return errprefix(err, errlen, "[retention] %s", key);
		}
		free(format);
	}
	return 0;
}

/* Index. */

static int
valid_id(const char *id)
{
	size_t	i, len = strlen(id);

	if (len == 0 || len > LABELS_ID_MAX || id[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && strchr("._-", id[i]) == NULL)
			return 0;
	return 1;
}

/* "RULE:VALUE": RULE a name, VALUE non-empty, no control characters. */
static int
valid_label_name(const char *name)
{
	const char	*colon, *p;
	char		 rule[LABELS_NAME_MAX + 1];
	size_t		 len = strlen(name);

	if (len == 0 || len > LABELS_NAME_MAX || (colon = strchr(name, ':')) == NULL ||
	    colon[1] == '\0')
		return 0;
	memcpy(rule, name, (size_t)(colon - name));
	rule[colon - name] = '\0';
	if (!config_is_name(rule))
		return 0;
	for (p = colon + 1; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

void
labels_index_init(struct labels_index *idx)
{
	idx->v = NULL;
	idx->n = 0;
}

void
labels_backup_free(struct labels_backup *b)
{
	size_t	i;

	for (i = 0; i < b->nlabels; i++)
		free(b->labels[i].name);
	free(b->labels);
	free(b->id);
	memset(b, 0, sizeof(*b));
}

void
labels_index_free(struct labels_index *idx)
{
	size_t	i;

	for (i = 0; i < idx->n; i++)
		labels_backup_free(&idx->v[i]);
	free(idx->v);
	labels_index_init(idx);
}

struct labels_backup *
labels_index_find(const struct labels_index *idx, const char *id)
{
	size_t	i;

	for (i = 0; i < idx->n; i++)
		if (strcmp(idx->v[i].id, id) == 0)
			return &idx->v[i];
	return NULL;
}

/* Order: finished time, then id. */
static int
backup_before(time_t fa, const char *ida, const struct labels_backup *b)
{
	if (fa != b->finished)
		return fa < b->finished;
	return strcmp(ida, b->id) < 0;
}

/* Inserts *b (taking ownership) in order. */
static struct labels_backup *
index_insert(struct labels_index *idx, struct labels_backup *b)
{
	size_t	pos = idx->n;

	while (pos > 0 && backup_before(b->finished, b->id, &idx->v[pos - 1]))
		pos--;
	idx->v = xreallocarray(idx->v, idx->n + 1, sizeof(*idx->v));
	memmove(&idx->v[pos + 1], &idx->v[pos], (idx->n - pos) * sizeof(*idx->v));
	idx->v[pos] = *b;
	idx->n++;
	return &idx->v[pos];
}

struct labels_backup *
labels_index_add(struct labels_index *idx, const char *id, time_t finished,
    enum labels_status status, char *err, size_t errlen)
{
	struct labels_backup	b;

	if (!valid_id(id)) {
		errf(err, errlen, "bad backup id \"%.64s\"", id);
		return NULL;
	}
	if (labels_index_find(idx, id) != NULL) {
		errf(err, errlen, "backup %s is already in the index", id);
		return NULL;
	}
	if (idx->n >= LABELS_BACKUPS_MAX) {
		errf(err, errlen, "more than %d backups in the index", LABELS_BACKUPS_MAX);
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	b.id = xstrdup(id);
	b.finished = finished;
	b.status = status;
	return index_insert(idx, &b);
}

int
labels_index_remove(struct labels_index *idx, const char *id)
{
	struct labels_backup	*b;
	size_t			 pos;

	if ((b = labels_index_find(idx, id)) == NULL)
		return -1;
	pos = (size_t)(b - idx->v);
	labels_backup_free(b);
	memmove(&idx->v[pos], &idx->v[pos + 1], (idx->n - pos - 1) * sizeof(*idx->v));
	idx->n--;
	return 0;
}

static int
has_label(const struct labels_backup *b, const char *name)
{
	size_t	i;

	for (i = 0; i < b->nlabels; i++)
		if (strcmp(b->labels[i].name, name) == 0)
			return 1;
	return 0;
}

/* 1 if a backup other than self holds name unexpired at t. */
static int
label_held(const struct labels_index *idx, const struct labels_backup *self,
    const char *name, time_t t)
{
	size_t	i, j;

	for (i = 0; i < idx->n; i++) {
		if (&idx->v[i] == self)
			continue;
		for (j = 0; j < idx->v[i].nlabels; j++)
			if (idx->v[i].labels[j].expires > t &&
			    strcmp(idx->v[i].labels[j].name, name) == 0)
				return 1;
	}
	return 0;
}

static void
add_label(struct labels_backup *b, const char *name, time_t expires)
{
	b->labels = xreallocarray(b->labels, b->nlabels + 1, sizeof(*b->labels));
	b->labels[b->nlabels].name = xstrdup(name);
	b->labels[b->nlabels].expires = expires;
	b->nlabels++;
}

/* "RULE:VALUE" for one rule at t. */
static int
label_name(const struct label_rule *rule, const char *tz, const char *id, time_t t,
    char *buf, size_t len, char *err, size_t errlen)
{
	struct tm	tm;
	char		value[LABELS_NAME_MAX];
	int		n;

	if (rule->format == NULL)
		strlcpy(value, id, sizeof(value));
	else {
		if (tz_localtime(tz, t, &tm) == -1)
			return errf(err, errlen, "time %lld in timezone %s", (long long)t,
			    tz != NULL ? tz : "UTC");
		if (strftime(value, sizeof(value), rule->format, &tm) == 0)
			return errf(err, errlen, "rule %s: format gives an empty or too "
			    "long label", rule->name);
	}
	n = snprintf(buf, len, "%s:%s", rule->name, value);
	if (n < 0 || (size_t)n >= len || !valid_label_name(buf))
		return errf(err, errlen, "rule %s: label \"%.64s\" is too long or holds "
		    "a control character", rule->name, buf);
	return 0;
}

int
labels_assign(struct labels_index *idx, const struct label_rules *rules, const char *tz,
    const char *id, time_t finished, char *err, size_t errlen)
{
	struct labels_backup	*b;
	char			 name[LABELS_NAME_MAX + 1];
	size_t			 i;

	if ((b = labels_index_find(idx, id)) == NULL &&
	    (b = labels_index_add(idx, id, finished, LABELS_OK, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < rules->n; i++) {
		if (rules->v[i].keep < 0)
			continue;
		if (label_name(&rules->v[i], tz, id, finished, name, sizeof(name), err,
		    errlen) == -1)
			return -1;
		if (has_label(b, name) || label_held(idx, b, name, finished))
			continue;
		if (b->nlabels >= LABELS_PER_BACKUP_MAX)
			return errf(err, errlen, "backup %s: more than %d labels", id,
			    LABELS_PER_BACKUP_MAX);
		add_label(b, name, finished + rules->v[i].keep);
	}
	return 0;
}

/* Prune plan. */

static char *
prune_reason(const struct labels_backup *b)
{
	char	*reason, *next, when[21];
	size_t	 i;

	if (b->nlabels == 0)
		return xstrdup(b->status == LABELS_FAILED ? "failed, no labels" : "no labels");
	reason = xstrdup("labels");
	for (i = 0; i < b->nlabels; i++) {
		time_to_rfc3339(b->labels[i].expires, when);
		next = xasprintf("%s%s %s (expired %s)", reason, i ? "," : "",
		    b->labels[i].name, when);
		free(reason);
		reason = next;
	}
	return reason;
}

void
labels_plan_prune(const struct labels_index *idx, time_t now, struct labels_prune_plan *plan)
{
	const struct labels_backup	*b;
	size_t				 i, j;
	ssize_t				 newest = -1;
	int				 kept;

	memset(plan, 0, sizeof(*plan));
	for (i = idx->n; i > 0; i--) {
		if (idx->v[i - 1].status == LABELS_OK) {
			newest = (ssize_t)(i - 1);
			break;
		}
	}
	for (i = 0; i < idx->n; i++) {
		b = &idx->v[i];
		kept = 0;
		for (j = 0; j < b->nlabels; j++)
			if (b->labels[j].expires > now)
				kept = 1;
		if (kept)
			continue;
		if ((ssize_t)i == newest) {
			plan->kept_newest = xstrdup(b->id);
			continue;
		}
		plan->v = xreallocarray(plan->v, plan->n + 1, sizeof(*plan->v));
		plan->v[plan->n].id = xstrdup(b->id);
		plan->v[plan->n].reason = prune_reason(b);
		plan->n++;
	}
}

void
labels_plan_free(struct labels_prune_plan *plan)
{
	size_t	i;

	for (i = 0; i < plan->n; i++) {
		free(plan->v[i].id);
		free(plan->v[i].reason);
	}
	free(plan->v);
	free(plan->kept_newest);
	memset(plan, 0, sizeof(*plan));
}

/* JSON. */

static json_t *
json_time(time_t t)
{
	char	buf[21];

	time_to_rfc3339(t, buf);
	return json_string(buf);
}

/* Strict "YYYY-MM-DDTHH:MM:SSZ", year 1970..9999. */
static int
parse_json_time(const json_t *j, time_t *t)
{
	struct tm	 tm;
	const char	*s, *end;
	char		 back[21];

	if (!json_is_string(j) || json_string_length(j) != 20)
		return -1;
	s = json_string_value(j);
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return -1;
	if (tm.tm_year < 70 || tm.tm_year > 8099)
		return -1;
	*t = timegm(&tm);
	time_to_rfc3339(*t, back);
	return strcmp(back, s) == 0 ? 0 : -1;
}

json_t *
labels_backup_to_json(const struct labels_backup *b)
{
	json_t	*labels, *o;
	size_t	 i;

	labels = json_array();
	for (i = 0; i < b->nlabels; i++)
		json_array_append_new(labels, json_pack("{s:s, s:o}", "name",
		    b->labels[i].name, "expires", json_time(b->labels[i].expires)));
	o = json_pack("{s:s, s:o, s:s, s:o}", "id", b->id, "finished",
	    json_time(b->finished), "status", b->status == LABELS_OK ? "ok" : "failed",
	    "labels", labels);
	return o;
}

/* Only the keys named (NULL-terminated) may appear in o. */
static int
only_keys(const json_t *o, const char *const *keys, char *err, size_t errlen)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return errf(err, errlen, "unknown key \"%.32s\"", k);
	}
	return 0;
}

static int
label_from_json(const json_t *o, struct labels_backup *b, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "expires", NULL };
	const json_t	*name;
	time_t		 expires;

	if (!json_is_object(o))
		return errf(err, errlen, "a label is not an object");
	if (only_keys(o, keys, err, errlen) == -1)
		return errprefix(err, errlen, "label");
	name = json_object_get(o, "name");
	if (!json_is_string(name) || !valid_label_name(json_string_value(name)) ||
	    strlen(json_string_value(name)) != json_string_length(name))
		return errf(err, errlen, "label name missing or not RULE:VALUE");
	if (parse_json_time(json_object_get(o, "expires"), &expires) == -1)
		return errf(err, errlen, "label %s: expires missing or not a time such "
		    "as 2026-11-24T03:00:00Z", json_string_value(name));
	if (has_label(b, json_string_value(name)))
		return errf(err, errlen, "label %s given twice", json_string_value(name));
	add_label(b, json_string_value(name), expires);
	return 0;
}

static int
backup_from_json(const json_t *o, struct labels_backup *b, char *err, size_t errlen)
{
	static const char *const keys[] = { "id", "finished", "status", "labels", NULL };
	const json_t	*id, *status, *labels;
	const char	*st;
	size_t		 i;

	if (!json_is_object(o))
		return errf(err, errlen, "a backup is not an object");
	if (only_keys(o, keys, err, errlen) == -1)
		return -1;
	id = json_object_get(o, "id");
	if (!json_is_string(id) || !valid_id(json_string_value(id)) ||
	    strlen(json_string_value(id)) != json_string_length(id))
		return errf(err, errlen, "id missing or not a backup id");
	b->id = xstrdup(json_string_value(id));
	if (parse_json_time(json_object_get(o, "finished"), &b->finished) == -1)
		return errf(err, errlen, "finished missing or not a time such as "
		    "2026-11-24T03:00:00Z");
	status = json_object_get(o, "status");
	st = json_is_string(status) ? json_string_value(status) : "";
	if (strcmp(st, "ok") == 0)
		b->status = LABELS_OK;
	else if (strcmp(st, "failed") == 0)
		b->status = LABELS_FAILED;
	else
		return errf(err, errlen, "status missing or not ok|failed");
	labels = json_object_get(o, "labels");
	if (!json_is_array(labels))
		return errf(err, errlen, "labels missing or not an array");
	if (json_array_size(labels) > LABELS_PER_BACKUP_MAX)
		return errf(err, errlen, "more than %d labels", LABELS_PER_BACKUP_MAX);
	for (i = 0; i < json_array_size(labels); i++)
		if (label_from_json(json_array_get(labels, i), b, err, errlen) == -1)
			return -1;
	return 0;
}

int
labels_backup_from_json(const json_t *o, struct labels_backup *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (backup_from_json(o, b, err, errlen) == -1) {
		if (b->id != NULL)
			errprefix(err, errlen, "backup %s", b->id);
		labels_backup_free(b);
		return -1;
	}
	return 0;
}

char *
labels_index_to_json(const struct labels_index *idx)
{
	json_t	*backups, *o;
	char	*s;
	size_t	 i;

	backups = json_array();
	for (i = 0; i < idx->n; i++)
		json_array_append_new(backups, labels_backup_to_json(&idx->v[i]));
	o = json_pack("{s:i, s:o}", "version", LABELS_VERSION, "backups", backups);
	s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return s;
}

static int
index_from_json(const json_t *root, struct labels_index *idx, char *err, size_t errlen)
{
	static const char *const keys[] = { "version", "backups", NULL };
	struct labels_backup	 b;
	const json_t		*version, *backups;
	size_t			 i;

	if (!json_is_object(root))
		return errf(err, errlen, "not a JSON object");
	if (only_keys(root, keys, err, errlen) == -1)
		return -1;
	version = json_object_get(root, "version");
	if (!json_is_integer(version) || json_integer_value(version) != LABELS_VERSION)
		return errf(err, errlen, "version missing or not %d", LABELS_VERSION);
	backups = json_object_get(root, "backups");
	if (!json_is_array(backups))
		return errf(err, errlen, "backups missing or not an array");
	if (json_array_size(backups) > LABELS_BACKUPS_MAX)
		return errf(err, errlen, "more than %d backups", LABELS_BACKUPS_MAX);
	for (i = 0; i < json_array_size(backups); i++) {
		if (labels_backup_from_json(json_array_get(backups, i), &b, err,
		    errlen) == -1)
			return errprefix(err, errlen, "backups[%zu]", i);
		if (labels_index_find(idx, b.id) != NULL) {
			errf(err, errlen, "backup %s listed twice", b.id);
			labels_backup_free(&b);
			return -1;
		}
		index_insert(idx, &b);
	}
	return 0;
}

int
labels_index_from_json(const char *buf, size_t len, struct labels_index *idx,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root;
	int		 rc;

	labels_index_init(idx);
	if (len > LABELS_JSON_MAX)
		return errf(err, errlen, "label index larger than %d bytes", LABELS_JSON_MAX);
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return errf(err, errlen, "label index: line %d: %s", jerr.line, jerr.text);
	rc = index_from_json(root, idx, err, errlen);
	json_decref(root);
	if (rc == -1) {
		labels_index_free(idx);
		return errprefix(err, errlen, "label index");
	}
	return 0;
}

int
labels_index_rebuild(struct labels_index *idx, const struct labels_backup *recs, size_t n,
    char *err, size_t errlen)
{
	struct labels_backup	*b;
	size_t			 i, j;

	labels_index_init(idx);
	for (i = 0; i < n; i++) {
		if ((b = labels_index_add(idx, recs[i].id, recs[i].finished, recs[i].status,
		    err, errlen)) == NULL)
			goto fail;
		if (recs[i].nlabels > LABELS_PER_BACKUP_MAX) {
			errf(err, errlen, "backup %s: more than %d labels", recs[i].id,
			    LABELS_PER_BACKUP_MAX);
			goto fail;
		}
		for (j = 0; j < recs[i].nlabels; j++) {
			if (!valid_label_name(recs[i].labels[j].name) ||
			    has_label(b, recs[i].labels[j].name)) {
				errf(err, errlen, "backup %s: bad or repeated label \"%.64s\"",
				    recs[i].id, recs[i].labels[j].name);
				goto fail;
			}
			add_label(b, recs[i].labels[j].name, recs[i].labels[j].expires);
		}
	}
	return 0;
fail:
	labels_index_free(idx);
	return -1;
}
