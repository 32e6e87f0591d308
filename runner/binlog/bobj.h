/*
 * bobj: one stored piece of a MariaDB/MySQL binary log file
 * (kbackup-format(5), "Binary log archive"), and the events in it.
 *
 * A binary log file is archived as pieces: the bytes [offset, offset+size)
 * of the file, whole events only, each one object in the container format
 * whose plain stream is this fixed head followed by the bytes.  The head
 * binds them to their file and offset (a swapped object is refused), carries
 * their SHA-256 and the times of their events, and says whether the piece
 * ends its file (the server had moved on to the next).
 *
 *   0   8  magic "KBBINLG1"
 *   8   8  offset of the piece in its file
 *  16   8  size of the piece in bytes
 *  24   1  flags: 1 the piece ends its file
 *  25   7  zero
 *  32   8  the oldest event timestamp in the piece, Unix seconds (0: none)
 *  40   8  the newest event timestamp in the piece or archived before it
 *  48   8  number of events
 *  56  32  SHA-256 of the bytes
 *  88 256  the file's name, NUL-padded
 * 344   8  the server id of the file's writer, from its format description
 *          event (0: not known, a piece stored before it was recorded)
 *
 * Integers are big-endian, as in the container.
 */
#ifndef KB_BOBJ_H
#define KB_BOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engines/my_binlog.h"

#define BOBJ_HEAD_LEN	352
#define BOBJ_NAME_MAX	256
#define BOBJ_FINAL	0x1
/* A file's first bytes: the binary log magic. */
#define BOBJ_MAGIC_LEN	4

struct bobj_head {
	uint64_t	 offset;
	uint64_t	 size;
	uint8_t		 flags;
	time_t		 first;
	time_t		 last;
	uint64_t	 nevents;
	unsigned char	 sha256[32];
	char		 name[BOBJ_NAME_MAX];
	uint32_t	 server;
};

void	 bobj_encode(const struct bobj_head *, unsigned char out[BOBJ_HEAD_LEN]);
int	 bobj_decode(const unsigned char in[BOBJ_HEAD_LEN], struct bobj_head *, char *err,
	    size_t errlen);

/*
 * Walks the events of buf (the file's bytes from offset on, offset at an
 * event boundary or 0): *whole gets how many bytes of buf are whole events
 * (the magic included at offset 0); h gets their times and count.  -1 when
 * the bytes are not binary log events (a bad magic, an event shorter than
 * its header).
 */
int	 bobj_events(const unsigned char *buf, size_t len, uint64_t offset, size_t *whole,
	    struct bobj_head *h, char *err, size_t errlen);

/*
 * The server id of a binary log file's writer, from the first bytes of the
 * file (the magic, then the format description event, whose header carries
 * the id of the server that wrote the file; replicated events carry their
 * origin's): 1 with *server set, 0 when len is too short yet, -1 when the
 * bytes are no binary log file.
 */
int	 bobj_file_server(const unsigned char *start, size_t len, uint32_t *server);

/* An event's common header: timestamp, type, server id, size, next position, flags. */
#define BOBJ_EV_HEADER	19
/* What bobj_event_gtid() needs of an event: its header and a GTID's sequence and domain. */
#define BOBJ_EV_GTID_MIN	(BOBJ_EV_HEADER + 12)
/* An event's size, from its header (BOBJ_EV_HEADER bytes at ev). */
uint32_t bobj_event_size(const unsigned char *ev);
/*
 * 1 when the event at ev (at least BOBJ_EV_GTID_MIN bytes of it) is a MariaDB
 * GTID event, the start of a transaction, with g filled; 0 when another.
 */
int	 bobj_event_gtid(const unsigned char *ev, struct my_gtid *g);
/*
 * 1 when the event at ev (len bytes of it there) is MariaDB's GTID list, the
 * state of the log where a file starts (the last GTID of each domain), into
 * pos; 0 when another event; -1 when it does not read.
 */
int	 bobj_event_gtid_list(const unsigned char *ev, size_t len, struct my_gtid_pos *pos);

/*
 * Calls fn for each whole event of fd in [from, end) (from at an event
 * boundary), in order: ev holds have bytes of it (all, or at least
 * BOBJ_WALK_KEEP), off is its offset.  fn returns 0 to go on, 1 to stop,
 * -1 (err filled) when it failed.  -1 too when an event is shorter than
 * its header.
 */
#define BOBJ_WALK_KEEP	4096
typedef int	(*bobj_walk_fn)(const unsigned char *ev, size_t have, uint64_t off,
		    void *arg, char *err, size_t errlen);
int	 bobj_walk(int fd, uint64_t from, uint64_t end, bobj_walk_fn fn, void *arg,
	    char *err, size_t errlen);

#endif
