/*
 * labels: grandfather-father-son retention by labels (kbackup-format(5),
 * "Retention").  Pure logic over a view of the backups a location holds:
 * nothing here reads or writes storage; the catalog builds the view from
 * the records (the manifests) and decides what is really deleted.
 *
 * For each rule of rules.h that is not off, a backup that finished at t
 * gets the label "NAME:VALUE" with VALUE = strftime(format, t) in the
 * configured timezone -- unless another backup of the view already holds
 * that label unexpired -- and the label expires at t + keep.  A backup is
 * kept while it holds an unexpired label (expires > now); the newest backup
 * of the view is never planned for deletion.  "all" labels with the ID.  A
 * wall-clock hour repeated when clocks fall back yields the same hourly
 * value twice, so the second backup of that hour gets no hourly label.
 */
#ifndef KB_LABELS_H
#define KB_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/catalog/record.h"
#include "runner/catalog/rules.h"

#define LABELS_BACKUPS_MAX	100000

struct labels_backup {
	char		*id;
	time_t		 finished;
	struct label	*labels;
	size_t		 nlabels;
};

struct labels_index {
	struct labels_backup	*v;		/* sorted by finished time, then id */
	size_t			 n;
};

/* 1 if a backup (finished fa, ID ida) comes before another in the view's order. */
int	 labels_before(time_t fa, const char *ida, time_t fb, const char *idb);
void	 labels_index_init(struct labels_index *);
void	 labels_index_free(struct labels_index *);
struct labels_backup *labels_index_find(const struct labels_index *, const char *id);
/* Adds a backup without labels; error for a bad or duplicate id. */
struct labels_backup *labels_index_add(struct labels_index *, const char *id,
	    time_t finished, char *err, size_t errlen);
void	 labels_backup_add(struct labels_backup *, const char *name, time_t expires);
/* Forgets a backup; -1 if absent. */
int	 labels_index_remove(struct labels_index *, const char *id);
void	 labels_backup_free(struct labels_backup *);

/*
 * Labels the backup id (added if not in the view yet) that finished at
 * `finished`, by rules evaluated in tz.  Labels it already has are kept;
 * labelling twice adds nothing.
 */
int	 labels_assign(struct labels_index *, const struct label_rules *, const char *tz,
	    const char *id, time_t finished, char *err, size_t errlen);

/* What the labels no longer hold at `now`: oldest first, each with its reason. */
struct labels_prune_item {
	char	*id;
	char	*reason;	/* "labels daily:2026-11-17 (expired 2026-11-24T00:00:00Z), ..." */
};

struct labels_prune_plan {
	struct labels_prune_item *v;
	size_t			  n;
	/* The newest backup when it is kept only because it is the newest. */
	char			 *kept_newest;
};

void	 labels_plan_prune(const struct labels_index *, time_t now,
	    struct labels_prune_plan *);
void	 labels_plan_free(struct labels_prune_plan *);

#endif
