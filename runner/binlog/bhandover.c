/*
 * bhandover: the archive's newest history and a server that is not its
 * writer.  See bhandover.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/memfile.h"
#include "common/util.h"
#include "engines/mysql.h"
#include "runner/binlog/bhandover.h"

/* The writer of history hist: its link's server, else its newest piece's. */
static int
writer_of(struct binlog_archive *ar, uint32_t hist, uint32_t *writer, char *err,
    size_t errlen)
{
	const struct binlog_link	*l = binlog_link_of(ar, hist);
	struct bobj_head		 h;
	size_t				 i = binlog_archive_newest(ar);

	*writer = 0;
	if (l != NULL)
		*writer = l->server;
	else if (i != SIZE_MAX && ar->v[i].hist == hist) {
		if (binlog_piece_head(ar, i, &h, err, errlen) == -1)
			return -1;
		*writer = h.server;
	}
	return 0;
}

/* The archived bytes of the newest file of the newest history, from 0, into a memfd. */
static int
fetch_newest_file(struct binlog_archive *ar, int *fdp, uint64_t *len, char *err,
    size_t errlen)
{
	size_t	i, j = binlog_archive_newest(ar);
	int	fd;

	for (i = j; i > 0 && ar->v[i - 1].hist == ar->v[j].hist &&
	    strcmp(ar->v[i - 1].name, ar->v[j].name) == 0; i--)
		;
	if ((fd = memfile_scratch("kbackup-handover", err, errlen)) == -1)
		return -1;
	if (binlog_fetch_file(ar, i, fd, len, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* -1 unless the server's @@gtid_binlog_pos (have) holds every GTID of want. */
static int
holds(const struct my_gtid_pos *have, const struct my_gtid_pos *want, char *err,
    size_t errlen)
{
	const struct my_gtid	*h, *w;
	char			 ht[MY_GTID_TEXT], wt[MY_GTID_TEXT];
	size_t			 i;

	for (i = 0; i < want->n; i++) {
		w = &want->v[i];
		h = my_gtid_pos_domain(have, w->domain);
		if (h != NULL && (h->seq > w->seq || (h->seq == w->seq &&
		    h->server == w->server)))
			continue;
		my_gtid_text(w, wt);
		if (h == NULL)
			return errf(err, errlen, "the server has no transaction of domain %"
			    PRIu32 ", the archive has up to %s: it lacks archived transactions",
			    w->domain, wt);
		my_gtid_text(h, ht);
		return errf(err, errlen, "the server's binary log ends at %s, the archive has %s: "
		    "it %s", ht, wt, h->seq < w->seq ? "lacks archived transactions (promoted "
		    "before it had them?)" : "wrote another transaction under that number");
	}
	return 0;
}

/* The state the server must continue from, checked against its @@gtid_binlog_pos. */
static int
handover_state(struct binlog_archive *ar, struct engine_job *job,
    struct binlog_handover *ho, char *err, size_t errlen)
{
	struct my_gtid_pos	 have;
	char			 text[MY_BINLOG_GTID_MAX], why[KB_ERRLEN];
	uint64_t		 len = 0, end;
	size_t			 i = binlog_archive_newest(ar);
	int			 fd = -1, rc;

	if (fetch_newest_file(ar, &fd, &len, err, errlen) == -1)
		return -1;
	rc = blink_tail(fd, len, &end, &ho->state, err, errlen);
	close(fd);
	if (rc == -1)
		return errprefix(err, errlen, "%s", ar->v[i].name);
	if (mysql_binlog_gtid_pos(job, text, sizeof(text), err, errlen) == -1)
		return -1;
	if (my_gtid_pos_parse(text, &have, why, sizeof(why)) == -1)
		return errf(err, errlen, "@@gtid_binlog_pos '%s': %s (a MySQL server? "
		    "following another server is done by MariaDB GTIDs)", text, why);
	if (holds(&have, &ho->state, err, errlen) == -1)
		return -1;
	ho->link.hist = ho->hist + 1;
	ho->link.server = ho->server;
	ho->link.parent_server = ho->writer;
	ho->link.parent_end = end;
	strlcpy(ho->link.parent_file, ar->v[i].name, sizeof(ho->link.parent_file));
	my_gtid_pos_text(&ho->state, ho->link.gtid, sizeof(ho->link.gtid));
	return 0;
}

int
binlog_handover_plan(struct binlog_archive *ar, struct engine_job *job,
    struct binlog_handover *ho, char *err, size_t errlen)
{
	size_t	i = binlog_archive_newest(ar);

	memset(ho, 0, sizeof(*ho));
	ho->hist = binlog_archive_hist(ar);
	if (writer_of(ar, ho->hist, &ho->writer, err, errlen) == -1 ||
	    mysql_binlog_server_id(job, &ho->server, err, errlen) == -1)
		return -1;
	if (ho->writer == 0 || ho->writer == ho->server)
		return 0;
	ho->needed = 1;
	if (i == SIZE_MAX || ar->v[i].hist != ho->hist)
		return errf(err, errlen, "history %" PRIu32 " of the archive (server id %" PRIu32
		    ") has no piece yet, and the server is server id %" PRIu32 ": it cannot "
		    "be continued", ho->hist, ho->writer, ho->server);
	if (handover_state(ar, job, ho, err, errlen) == -1)
		return errprefix(err, errlen, "the server (server id %" PRIu32 ") cannot continue "
		    "the archive of server id %" PRIu32, ho->server, ho->writer);
	return 0;
}
