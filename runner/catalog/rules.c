/*
 * rules: the retention presets, their defaults, and the one parser of
 * retention rules.  See rules.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"
#include "runner/catalog/rules.h"

#define FORMAT_CONVS	"aAbBCdDeFgGhHIjmMpRTuUVwWyY%"

static const struct {
	const char	*name;
	const char	*format;	/* NULL: the backup ID */
	const char	*keep;		/* the default, as written in a config file */
	const char	*expect;	/* for messages */
} presets[] = {
	{ "all", NULL, "1h", "a duration such as 1h or off" },
	{ "hourly", "%Y-%m-%dT%H", "24h", "a duration such as 24h or off" },
	{ "daily", "%Y-%m-%d", "7d", "a duration such as 7d or off" },
	{ "weekly", "%G-W%V", "31d", "a duration such as 31d or off" },
	{ "monthly", "%Y-%m", "365d", "a duration such as 365d or off" },
	{ "yearly", "%Y", "off", "a duration such as 3650d or off" },
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

/* "off" or a duration, as the [retention] keys and rule values take them. */
static int
parse_keep(const char *s, int64_t *keep)
{
	if (strcmp(s, "off") == 0) {
		*keep = -1;
		return 0;
	}
	return config_parse_duration(s, keep);
}

void
rules_init(struct label_rules *r)
{
	r->v = NULL;
	r->n = 0;
}

void
rules_defaults(struct label_rules *r)
{
	size_t	i;
	int64_t	keep;

	rules_init(r);
	r->v = xcalloc(NPRESETS, sizeof(*r->v));
	for (i = 0; i < NPRESETS; i++) {
		if (parse_keep(presets[i].keep, &keep) == -1)
			abort();	/* the table above is wrong */
		r->v[i].name = xstrdup(presets[i].name);
		r->v[i].format = xstrdup_or_null(presets[i].format);
		r->v[i].keep = keep;
	}
	r->n = NPRESETS;
}

void
rules_free(struct label_rules *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].format);
	}
	free(r->v);
	rules_init(r);
}

int
rules_format_check(const char *f, char *err, size_t errlen)
{
	const char	*p;
	int		 convs = 0;

	if (*f == '\0')
		return errf(err, errlen, "empty format");
	if (strlen(f) > RULES_FORMAT_MAX)
		return errf(err, errlen, "format longer than %d characters", RULES_FORMAT_MAX);
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
rules_set(struct label_rules *r, const char *name, const char *format, int64_t keep,
    char *err, size_t errlen)
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
	if (format != NULL && rules_format_check(format, err, errlen) == -1)
		return errprefix(err, errlen, "rule %s", name);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			rule = &r->v[i];
	if (rule == NULL) {
		if (r->n >= RULES_MAX)
			return errf(err, errlen, "more than %d retention rules", RULES_MAX);
		r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
		rule = &r->v[r->n++];
		rule->name = xstrdup(name);
	} else
		free(rule->format);
	rule->format = xstrdup_or_null(format);
	rule->keep = keep < 0 ? -1 : keep;
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
rules_parse_value(const char *value, char **format, int64_t *keep, char *err,
    size_t errlen)
{
	const char	*d;
	char		*dur;
	size_t		 len, flen;
	int		 rc;

	*format = NULL;
	while (is_blank(*value))
		value++;
	len = strlen(value);
	while (len > 0 && is_blank(value[len - 1]))
		len--;
	for (d = value + len; d > value && !is_blank(d[-1]); d--)
		;
	if (d == value || d == value + len)
		return errf(err, errlen, "expected STRFTIME-FORMAT DURATION, e.g. "
		    "\"%%Y-%%m 90d\"");
	dur = xstrndup(d, (size_t)(value + len - d));
	if ((rc = parse_keep(dur, keep)) == -1)
		errf(err, errlen, "\"%.32s\" is not a duration (such as 90d) or off", dur);
	free(dur);
	if (rc == -1)
		return -1;
	for (flen = (size_t)(d - value); flen > 0 && is_blank(value[flen - 1]); flen--)
		;
	*format = xstrndup(value, flen);
	if (rules_format_check(*format, err, errlen) == -1) {
		free(*format);
		*format = NULL;
		return -1;
	}
	return 0;
}

int
rules_check_value(const char *value, char *err, size_t errlen)
{
	char	*format;
	int64_t	 keep;

	if (rules_parse_value(value, &format, &keep, err, errlen) == -1)
		return -1;
	free(format);
	return 0;
}

int
rules_from_config(const struct config_section *s, struct label_rules *r, char *err,
    size_t errlen)
{
	const char	*key, *v;
	char		*format;
	int64_t		 keep;
	size_t		 i;

	rules_defaults(r);
	if (s == NULL)
		return 0;
	for (i = 0; i < NPRESETS; i++) {
		/* A section built without the schema (config_new) has no defaults. */
		if ((v = config_get(s, presets[i].name)) == NULL)
			v = presets[i].keep;
		if (parse_keep(v, &keep) == -1) {
			rules_free(r);
			return errf(err, errlen, "[retention] %s: \"%.32s\" is not %s",
			    presets[i].name, v, presets[i].expect);
		}
		rules_set(r, presets[i].name, NULL, keep, NULL, 0);
	}
	for (i = 0; i < s->nentries; i++) {
		key = s->entries[i].key;
		if (!startswith(key, "rule."))
			continue;
		if (preset_index(key + 5) != -1) {
			rules_free(r);
			return errf(err, errlen, "[retention] %s: %s is a preset; set "
			    "\"%s = DURATION\" instead", key, key + 5, key + 5);
		}
		if (rules_parse_value(s->entries[i].value, &format, &keep, err,
		    errlen) == -1 ||
		    rules_set(r, key + 5, format, keep, err, errlen) == -1) {
			free(format);
			rules_free(r);
			return errprefix(err, errlen, "[retention] %s", key);
		}
		free(format);
	}
	return 0;
}

const struct config_key *
rules_schema_keys(void)
{
	static struct config_key	keys[NPRESETS + 2];
	size_t				i;

	if (keys[0].name != NULL)
		return keys;
	for (i = 0; i < NPRESETS; i++) {
		keys[i].name = presets[i].name;
		keys[i].type = CFG_DURATION_OFF;
		keys[i].def = presets[i].keep;
		keys[i].expect = presets[i].expect;
	}
	keys[NPRESETS].name = "rule.*";
	keys[NPRESETS].type = CFG_STRING;
	keys[NPRESETS].expect = "STRFTIME-FORMAT DURATION";
	keys[NPRESETS].check = rules_check_value;
	return keys;
}
