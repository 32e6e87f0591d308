/*
 * labels: grandfather-father-son retention by labels (kbackup-format(5),
 * "Retention").  Pure logic: nothing here reads or writes storage.
 *
 * A rule is (name, strftime format, keep duration).  A backup that finished
 * at t gets, for each rule that is not off, the label "NAME:VALUE" with
 * VALUE = strftime(format, t) in the configured timezone -- unless another
 * backup in the index already holds that label unexpired -- and the label
 * expires at t + keep.  A backup is kept while it holds an unexpired label
 * (expires > now); the newest good backup is never pruned.
 *
 * Presets (kbackup.conf [retention]):
 *   all      the backup ID itself (one label per backup)   1h
 *   hourly   %Y-%m-%dT%H                                   24h
 *   daily    %Y-%m-%d                                      7d
 *   weekly   %G-W%V (ISO week)                             31d
 *   monthly  %Y-%m                                         365d
 *   yearly   %Y                                            off
 * and custom rules "rule.NAME = FORMAT DURATION" (DURATION may be "off").
 * Labels are computed in the timezone given (tz.h); "all" uses the ID.
 * A wall-clock hour repeated when clocks fall back yields the same hourly
 * value twice, so the second backup of that hour gets no hourly label.
 *
 * The index is the set of backups with their labels: labels.json in storage
 * (a cache), rebuildable from the manifests, which record each backup's
 * labels with labels_backup_to_json().
 *
 * Typical use after a successful backup:
 *   labels_rules_from_config(config_section(cfg, "retention"), &rules, ...);
 *   labels_index_from_json(text, len, &idx, ...);      or labels_index_rebuild()
 *   labels_assign(&idx, &rules, tz, id, finished, ...);
 *   (write the manifest with labels_backup_to_json(labels_index_find(&idx, id)))
 *   labels_plan_prune(&idx, time(NULL), &plan);
 *   for each plan.v[i]: delete manifest, then data; labels_index_remove(&idx, id)
 *   text = labels_index_to_json(&idx); write labels.json
 */
#ifndef KB_LABELS_H
#define KB_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct config_section;

#define LABELS_ID_MAX		64	/* backup ID: [A-Za-z0-9._-], not starting with '.' */
#define LABELS_NAME_MAX		128	/* "RULE:VALUE" */
#define LABELS_FORMAT_MAX	64
#define LABELS_RULES_MAX	32
#define LABELS_PER_BACKUP_MAX	64
#define LABELS_BACKUPS_MAX	100000
#define LABELS_JSON_MAX		(64 * 1024 * 1024)

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
void	 labels_rules_init(struct label_rules *);
void	 labels_rules_defaults(struct label_rules *);
/*
 * Adds a rule, or replaces the one of that name.  For a preset name format
 * may be NULL to keep the preset's format.  name: [a-z0-9]([a-z0-9-]*[a-z0-9])?
 */
int	 labels_rules_set(struct label_rules *, const char *name, const char *format,
	    int64_t keep, char *err, size_t errlen);
void	 labels_rules_free(struct label_rules *);

/*
 * The presets with the durations of a [retention] section (NULL: all
 * defaults), plus its rule.NAME entries.  A rule.NAME that names a preset is
 * an error (set the preset's key instead).
 */
int	 labels_rules_from_config(const struct config_section *, struct label_rules *,
	    char *err, size_t errlen);

/* config_key.check for "rule.*" values: "FORMAT DURATION" or "FORMAT off". */
int	 labels_rule_check(const char *value, char *err, size_t errlen);
/* A rule's format: conversions of aAbBCdDeFgGhHIjmMpRTuUVwWyY% only, at least one. */
int	 labels_format_check(const char *format, char *err, size_t errlen);

/* The index. */
enum labels_status {
	LABELS_OK,		/* "ok": complete; may be the newest good backup */
	LABELS_FAILED		/* "failed": e.g. verify found it damaged */
};

struct label {
	char	*name;		/* "daily:2026-11-24" */
	time_t	 expires;
};

struct labels_backup {
	char			*id;		/* "20261124T030000Z" */
	time_t			 finished;
	enum labels_status	 status;
	struct label		*labels;
	size_t			 nlabels;
};

struct labels_index {
	struct labels_backup	*v;		/* sorted by finished time, then id */
	size_t			 n;
};

void	 labels_index_init(struct labels_index *);
void	 labels_index_free(struct labels_index *);
struct labels_backup *labels_index_find(const struct labels_index *, const char *id);
/* Adds a backup without labels; error for a bad or duplicate id. */
struct labels_backup *labels_index_add(struct labels_index *, const char *id,
	    time_t finished, enum labels_status, char *err, size_t errlen);
/* Forgets a backup (after it was deleted); -1 if absent. */
int	 labels_index_remove(struct labels_index *, const char *id);

/*
 * Labels the backup id (added as LABELS_OK if not in the index yet) that
 * finished at `finished`, by rules evaluated in tz.  Labels it already has
 * are kept; labelling twice adds nothing.
 */
int	 labels_assign(struct labels_index *, const struct label_rules *, const char *tz,
	    const char *id, time_t finished, char *err, size_t errlen);

/* What prune would delete at `now`: oldest first, each with its reason. */
struct labels_prune_item {
	char	*id;
	char	*reason;	/* "labels daily:2026-11-17 (expired 2026-11-24T00:00:00Z), ..." */
};

struct labels_prune_plan {
	struct labels_prune_item *v;
	size_t			  n;
	/* The newest good backup when it is kept only because it is the newest. */
	char			 *kept_newest;
};

void	 labels_plan_prune(const struct labels_index *, time_t now,
	    struct labels_prune_plan *);
void	 labels_plan_free(struct labels_prune_plan *);

/*
 * JSON.  labels.json is {"version":1,"backups":[BACKUP...]}, and BACKUP
 * (also what a manifest records) is
 *   {"id":"20261124T030000Z","finished":"2026-11-24T03:04:12Z","status":"ok",
 *    "labels":[{"name":"daily:2026-11-24","expires":"2026-12-01T03:04:12Z"}]}
 * The readers are strict (unknown keys, bad ids, names or times, duplicates
 * and anything beyond the *_MAX bounds are errors): this is data read back
 * from storage.
 */
char	*labels_index_to_json(const struct labels_index *);
int	 labels_index_from_json(const char *buf, size_t len, struct labels_index *,
	    char *err, size_t errlen);
json_t	*labels_backup_to_json(const struct labels_backup *);
/* Fills *b (free with labels_backup_free) from one BACKUP object. */
int	 labels_backup_from_json(const json_t *, struct labels_backup *, char *err,
	    size_t errlen);
void	 labels_backup_free(struct labels_backup *);

/*
 * Builds the index from per-backup records as the manifests hold them
 * (copied; the caller keeps its records).  Error on a bad or duplicate one.
 */
int	 labels_index_rebuild(struct labels_index *, const struct labels_backup *recs,
	    size_t n, char *err, size_t errlen);

#endif
