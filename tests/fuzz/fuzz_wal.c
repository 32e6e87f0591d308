/*
 * fuzz_wal: what kbackup reads of WAL it did not write itself -- a segment
 * (walseg: identity and the record walk, the first byte of input choosing
 * the rest's use), a timeline history file (chain), and the head of a
 * stored WAL file (walobj), which must encode back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/wal/chain.h"
#include "runner/wal/walobj.h"
#include "runner/wal/walseg.h"

#define SEG	(1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
segment(const uint8_t *data, size_t size)
{
	static uint8_t		 zeros[65536];
	struct walseg_scan	 s;
	struct walseg_info	 info;
	char			 err[KB_ERRLEN];
	uint64_t		 addr = 0, fed;
	size_t			 i, n;

	/* The address the first page claims, so that the walk gets past the identity. */
	for (i = 0; i < 8 && 8 + i < size; i++)
		addr |= (uint64_t)data[8 + i] << (8 * i);
	walseg_begin(&s, 1 + (size > 4 ? data[4] % 4 : 0), (addr / SEG) & 0xffffff, SEG);
	if (size > SEG)
		size = SEG;
	walseg_feed(&s, data, size);
	for (fed = size; fed < SEG; fed += n) {
		n = SEG - fed < sizeof(zeros) ? (size_t)(SEG - fed) : sizeof(zeros);
		walseg_feed(&s, zeros, n);
	}
	walseg_end(&s, &info, err, sizeof(err));
	walseg_free(&s);
}

static void
history(const uint8_t *data, size_t size)
{
	struct wal_history	 h;
	char			*text, err[KB_ERRLEN];

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	wal_history_parse(text, 1 + (size > 0 ? data[0] % 16 : 0), &h, err, sizeof(err));
	free(h.forks);
	free(text);
}

static void
head(const uint8_t *data, size_t size)
{
	struct walobj_head	h;
	unsigned char		raw[WALOBJ_HEAD_LEN], again[WALOBJ_HEAD_LEN];
	char			err[KB_ERRLEN];

	if (size < WALOBJ_HEAD_LEN)
		return;
	memcpy(raw, data, WALOBJ_HEAD_LEN);
	if (walobj_decode(raw, &h, err, sizeof(err)) == -1)
		return;
	walobj_encode(&h, again);
	if (memcmp(raw, again, WALOBJ_HEAD_LEN) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		segment(data + 1, size - 1);
		break;
	case 1:
		history(data + 1, size - 1);
		break;
	default:
		head(data + 1, size - 1);
		break;
	}
	return 0;
}
