/*
 * fuzz_container: the container reader on untrusted bytes.
 *
 * Input byte 0 picks the reader: bit 0 set, one fixed raw key; clear, no
 * key.  Bit 1 set: the header checksum is recomputed first, so that the
 * fuzzer gets past it to the header's fields and the frames.  Byte 1 picks the chunk size the rest is fed in (1..256, or 0: all
 * at once), since the reader must behave the same for any chunking.
 * A stored container begins at byte 2.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/util.h"
#include "runner/stream/container.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const unsigned char fuzz_key[32] = "0123456789abcdef0123456789abcdef";

static int
sink(const void *buf, size_t len, void *arg, char *err, size_t errlen)
{
	const unsigned char	*p = buf;
	uint64_t		*sum = arg;

	/* Touch first and last byte so the sanitizers see bad pointers. */
	if (len > 0)
		*sum += p[0] + p[len - 1];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct container_secret	 key = { "fuzz", fuzz_key, sizeof(fuzz_key), 1 };
	struct container_reader	*r;
	struct container_info	 info;
	char			 err[KB_ERRLEN];
	unsigned char		 md[SHA256_DIGEST_LENGTH];
	uint64_t		 sum = 0;
	unsigned char		*copy = NULL;
	size_t			 chunk, off, n;
	int			 rc = 0;

	if (size < 2)
		return 0;
	if (container_reader_new(&r, &key, data[0] & 1, "fuzz", sink, &sum, err,
	    sizeof(err)) == -1)
		return 0;
	chunk = data[1];
	if ((data[0] & 2) && size >= 2 + 96) {
		copy = xmalloc(size);
		memcpy(copy, data, size);
		SHA256(copy + 2, 80, md);
		memcpy(copy + 2 + 80, md, 16);
		data = copy;
	}
	data += 2;
	size -= 2;
	for (off = 0; off < size && rc == 0; off += n) {
		n = chunk == 0 ? size - off : chunk;
		if (n > size - off)
			n = size - off;
		rc = container_reader_feed(r, data + off, n, err, sizeof(err));
	}
	if (rc == 0)
		(void)container_reader_finish(r, err, sizeof(err));
	container_reader_info(r, &info);
	container_reader_free(r);
	free(copy);
	return 0;
}
