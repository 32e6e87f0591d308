/*
 * mysql: what the runner's binary log archive (runner/binlog) runs of the
 * mysql engine beyond engine_ops: mariadb-binlog (or mysqlbinlog) as a
 * replication client and as the decoder of archived files, with the
 * engine's connection and its password in a memfile (never argv).
 */
#ifndef KB_MYSQL_H
#define KB_MYSQL_H

#include <stddef.h>
#include <stdint.h>

#include "common/proc.h"
#include "engines/engine.h"

/* [mysql] binlog = archive. */
int	 mysql_binlog_archiving(const struct config_section *);
/*
 * The file to archive from (SHOW BINARY LOGS): want when the server still
 * has it, else (want NULL, or purged) the oldest file it has; *size its
 * size on the server now.
 */
int	 mysql_binlog_start(struct engine_job *, const char *want, char *name, size_t len,
	    uint64_t *size, char *err, size_t errlen);
/* The server's @@server_id: the id its binary log files are written with. */
int	 mysql_binlog_server_id(struct engine_job *, uint32_t *id, char *err, size_t errlen);
/* MariaDB's @@gtid_binlog_pos: the last GTID of each domain in its binary log. */
int	 mysql_binlog_gtid_pos(struct engine_job *, char *buf, size_t len, char *err,
	    size_t errlen);
/*
 * mariadb-binlog --read-from-remote-server --raw --stop-never from file
 * start on, writing the server's files into dir (with a trailing '/');
 * its stdout is c->out_fd, whose end says it has exited.
 */
int	 mysql_binlog_stream_spawn(struct engine_job *, const char *start, const char *dir,
	    struct child *c, char *err, size_t errlen);
/*
 * mariadb-binlog decoding files (NULL-terminated) from start_pos of the
 * first, up to stop_datetime ("YYYY-MM-DD HH:MM:SS" UTC, or NULL) or to the
 * events that start before stop_pos of the last (0: no limit), into SQL
 * on c->out_fd; a definition of one database keeps that database's events
 * only, renamed to job->database when it is set (--rewrite-db).  Fails,
 * saying why, for a definition of several databases but not all.
 */
int	 mysql_binlog_decode_spawn(struct engine_job *, const char *const *files,
	    uint64_t start_pos, const char *stop_datetime, uint64_t stop_pos, struct child *c,
	    char *err, size_t errlen);
/* Frees what the calls above kept (the memfile). */
void	 mysql_binlog_done(struct engine_job *);

#endif
