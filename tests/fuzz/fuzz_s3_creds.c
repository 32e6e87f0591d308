/*
 * fuzz_s3_creds: arbitrary bytes as the JSON answer of the container
 * credentials endpoint or of IMDS.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "storage/s3/s3_creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_cred_answer	a;
	char			err[KB_ERRLEN];

	if (s3_creds_parse_json((const char *)data, size, &a, err, sizeof(err)) == 0)
		s3_cred_answer_free(&a);
	return 0;
}
