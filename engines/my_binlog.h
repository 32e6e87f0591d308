/*
 * my_binlog: where a MariaDB or MySQL dump stands in the server's binary
 * log, for point-in-time recovery ([mysql] binlog = archive).
 *
 * The dump is taken with --master-data=2 (and --gtid on MariaDB;
 * --source-data=2 on MySQL 8.0.26 and later), which
 * writes the binary log file and position of its snapshot as a comment
 * near its start ("-- CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=n;",
 * or SOURCE_ on MySQL 8) and MariaDB's GTID position near its end ("-- SET
 * GLOBAL gtid_slave_pos='...';").  A tee thread reads the dump on its way
 * to the pipeline and keeps its first and last bytes, where those lines
 * are; the manifest's details record what they say:
 *
 *	"details": { "binlog": { "file": "mysql-bin.000003",
 *	    "position": 1234, "gtid": "0-1-57" } }
 *
 * ("gtid" only where the server gave one).
 */
#ifndef KB_MY_BINLOG_H
#define KB_MY_BINLOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/util.h"

#define MY_BINLOG_NAME_MAX	255
#define MY_BINLOG_GTID_MAX	4096
#define MY_BINLOG_HEAD_MAX	(64 * 1024)
#define MY_BINLOG_TAIL_MAX	(16 * 1024)

struct my_binpos {
	char		file[MY_BINLOG_NAME_MAX + 1];	/* "mysql-bin.000003" */
	uint64_t	position;			/* byte offset in file */
	char		gtid[MY_BINLOG_GTID_MAX + 1];	/* "" when none */
	uint32_t	server;				/* @@server_id; 0: not recorded */
	time_t		server_time;	/* the server's clock after the dump; 0: not recorded */
};

/* The dump's stdout passed on to a pipe, its head and tail kept. */
struct my_binlog_tee {
	int		 in_fd;		/* the dump's stdout (not ours to close) */
	int		 pipe[2];
	pthread_t	 thread;
	int		 running;
	int		 rc;
	char		 err[KB_ERRLEN];
	char		 head[MY_BINLOG_HEAD_MAX + 1];
	size_t		 headlen;
	char		 tail[MY_BINLOG_TAIL_MAX + 1];
	size_t		 taillen;
};

/* Starts passing in_fd on; *out_fd is what the pipeline reads. */
int	 my_binlog_tee_start(struct my_binlog_tee *, int in_fd, int *out_fd, char *err,
	    size_t errlen);
/* A backup that failed: closes the reading end, so that a blocked write ends. */
void	 my_binlog_tee_abort(struct my_binlog_tee *);
/* Waits for the thread (once the dump has ended); fails if the thread failed. */
int	 my_binlog_tee_end(struct my_binlog_tee *, char *err, size_t errlen);
/*
 * The manifest's details of the dump that passed: the position its text
 * names, server, the id of the server it was taken on (which binary log the
 * position is in, once the archive has followed several servers), and
 * server_time, the server's clock once the dump was over.
 */
int	 my_binlog_dump_details(const struct my_binlog_tee *, uint32_t server,
	    time_t server_time, json_t **details, char *err, size_t errlen);
/*
 * The answer to "SELECT @@log_bin, @@version": fails, saying what to set,
 * when the server writes no binary log; *dump_opts the dump's options that
 * record the position (MariaDB: --master-data=2 --gtid; MySQL 8.0.26 and
 * later: --source-data=2; older: --master-data=2).
 */
int	 my_binlog_server_check(const char *answer, const char **dump_opts, char *err,
	    size_t errlen);

/* The position in the dump's text: head (the first bytes), tail (the last). */
int	 my_binpos_scan(const char *head, const char *tail, struct my_binpos *, char *err,
	    size_t errlen);
/* The manifest's details object ({"binlog": {...}}), and back. */
json_t	*my_binpos_details(const struct my_binpos *);
/* 1 and *pos filled when details hold a binlog position, 0 when not, -1 when malformed. */
int	 my_binpos_from_details(const json_t *details, struct my_binpos *, char *err,
	    size_t errlen);

/*
 * The SQL mariadb-binlog prints, on its way to the client, without the
 * lines that set the session's GTID ("/\*M!100001 SET @@session.gtid_..."):
 * the replayed transactions get new GTIDs from the server instead of their
 * old ones, which it would log again out of order (refused under
 * gtid_strict_mode, and out of order for every later reader).
 */
#define MY_SQL_FILTER_PEND	64
struct my_sql_filter {
	char	pend[MY_SQL_FILTER_PEND];	/* a line's start, not decided yet */
	size_t	npend;
	int	dropping;
	int	bol;
};

void	 my_sql_filter_init(struct my_sql_filter *);
/* Filters n bytes of in into out (room for n + MY_SQL_FILTER_PEND); the bytes out. */
size_t	 my_sql_filter_feed(struct my_sql_filter *, const char *in, size_t n, char *out);
/* At the end: what is still pending, into out (MY_SQL_FILTER_PEND). */
size_t	 my_sql_filter_end(struct my_sql_filter *, char *out);

/*
 * A MariaDB GTID, DOMAIN-SERVER-SEQ ("0-1-57"), and a GTID position: at
 * most one GTID a replication domain, as @@gtid_binlog_pos and the dump's
 * gtid_slave_pos give it ("0-1-57,1-2-9"; "" holds none).  MySQL's
 * UUID:N-M sets are another form, not parsed here.
 */
#define MY_GTID_DOMAINS_MAX	64
struct my_gtid {
	uint32_t	domain;
	uint32_t	server;
	uint64_t	seq;
};
struct my_gtid_pos {
	struct my_gtid	v[MY_GTID_DOMAINS_MAX];
	size_t		n;
};

/* -1 (err says why) when s is not a MariaDB GTID position, or names a domain twice. */
int	 my_gtid_pos_parse(const char *s, struct my_gtid_pos *, char *err, size_t errlen);
/* The GTID of domain in pos, or NULL. */
const struct my_gtid *my_gtid_pos_domain(const struct my_gtid_pos *, uint32_t domain);
/* "0-1-57" into buf (room for MY_GTID_TEXT). */
#define MY_GTID_TEXT	48
void	 my_gtid_text(const struct my_gtid *, char buf[MY_GTID_TEXT]);
/* The position as @@gtid_binlog_pos prints it ("0-1-57,1-2-9"), cut to len. */
void	 my_gtid_pos_text(const struct my_gtid_pos *, char *buf, size_t len);

/* "mysql-bin.000003": the base name and the sequence number; -1 if not that form. */
int	 my_binlog_name_parse(const char *name, char *base, size_t baselen, uint32_t *seq);
/*
 * The order of two file names of one base name, by their sequence numbers:
 * -1, 0 or 1; 2 when they do not compare (other base names, or not that form).
 */
int	 my_binlog_name_order(const char *a, const char *b);

#endif
