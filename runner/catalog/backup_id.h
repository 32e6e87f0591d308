/*
 * backup_id: the names of backups.
 *
 * An ID is the UTC time the backup started and, since two backups may start
 * in the same second (a trigger next to a scheduled run, two hosts), six
 * random hex digits: 20261124T030000Z-3fa94c.  IDs sort by time (strcmp)
 * and read as one; IDs of the old form, 20261124T030000Z, stay valid.
 * Nothing relies on the random part alone: objects are created only where
 * absent, so two backups never share one.
 */
#ifndef KB_BACKUP_ID_H
#define KB_BACKUP_ID_H

#include <time.h>

#define BACKUP_ID_MAX	24	/* 23 characters and the NUL */

/* A new ID for a backup started at t. */
void	 backup_id_new(time_t t, char id[BACKUP_ID_MAX]);
/* 0 and the start time if id is an ID of either form; -1 otherwise. */
int	 backup_id_parse(const char *id, time_t *t);

#endif
