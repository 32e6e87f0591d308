/*
 * rules: the retention rules of [retention], parsed once, in one place.
 *
 * A rule is (name, strftime format, keep duration).  The presets and their
 * defaults are one table here; the config schema's [retention] keys are
 * made from it (rules_schema_keys()), so the defaults are written nowhere
 * else:
 *   all      the backup ID itself (one label per backup)   1h
 *   hourly   %Y-%m-%dT%H                                   24h
 *   daily    %Y-%m-%d                                      7d
 *   weekly   %G-W%V (ISO week)                             31d
 *   monthly  %Y-%m                                         365d
 *   yearly   %Y                                            off
 * and custom rules "rule.NAME = FORMAT DURATION" (DURATION may be "off"),
 * whose one parser is rules_parse_value().
 */
#ifndef KB_RULES_H
#define KB_RULES_H

#include <stddef.h>
#include <stdint.h>

struct config_key;
struct config_section;

#define RULES_MAX		32
#define RULES_FORMAT_MAX	64

struct label_rule {
	char	*name;		/* "daily" */
	char	*format;	/* strftime format; NULL: the backup ID ("all") */
	int64_t	 keep;		/* seconds a label is kept; < 0: the rule is off */
};

struct label_rules {
	struct label_rule	*v;
	size_t			 n;
};

/* Rules: start empty or with the presets at their defaults. */
void	 rules_init(struct label_rules *);
void	 rules_defaults(struct label_rules *);
/*
 * Adds a rule, or replaces the one of that name.  For a preset name format
 * may be NULL to keep the preset's format.  name: [a-z0-9]([a-z0-9-]*[a-z0-9])?
 */
int	 rules_set(struct label_rules *, const char *name, const char *format,
	    int64_t keep, char *err, size_t errlen);
void	 rules_free(struct label_rules *);

/*
 * The presets with the durations of a [retention] section (NULL: all
 * defaults), plus its rule.NAME entries.  A rule.NAME that names a preset is
 * an error (set the preset's key instead).
 */
int	 rules_from_config(const struct config_section *, struct label_rules *,
	    char *err, size_t errlen);

/*
 * The one parser of "FORMAT DURATION" and "FORMAT off": the format is
 * everything before the last blank (space or tab), trimmed; *format is a
 * new string.  Also the config schema's check of rule.* values.
 */
int	 rules_parse_value(const char *value, char **format, int64_t *keep, char *err,
	    size_t errlen);
int	 rules_check_value(const char *value, char *err, size_t errlen);
/* A rule's format: conversions of aAbBCdDeFgGhHIjmMpRTuUVwWyY% only, at least one. */
int	 rules_format_check(const char *format, char *err, size_t errlen);

/* The [retention] keys of the config schema, made from the presets (NULL name ends). */
const struct config_key *rules_schema_keys(void);

#endif
