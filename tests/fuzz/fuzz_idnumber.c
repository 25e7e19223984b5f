/*
 * tests/fuzz/fuzz_idnumber.c — libFuzzer harness for core/idnumber.c: every
 * ID type's check (the GB 11643 check character and birth date of a
 * resident ID number among them), the phone check and both masks, on
 * arbitrary bytes; a number that passes must pass again in its normalised
 * form (normalising is idempotent).
 * Not for: the API around them (fuzz_json_body feeds the validator).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"resident_id",       "passport", "hmt_permit",
	                                    "foreign_permanent", "none",     "bogus"};
	char *s = malloc(size + 1);
	char norm[128], norm2[128], why[256], masked[128];
	ogc_idinfo info;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&info, 0, sizeof(info));
		if (ogc_idnumber_check(types[i], s, norm, sizeof(norm), &info, why, sizeof(why)) ==
		            0 &&
		    ogc_idnumber_check(types[i], norm, norm2, sizeof(norm2), &info, why,
		                       sizeof(why)) != 0)
			abort();
	}
	if (ogc_phone_check(s, norm, sizeof(norm)) == 0 &&
	    ogc_phone_check(norm, norm2, sizeof(norm2)) != 0)
		abort();
	ogc_mask_id_number(s, masked, sizeof(masked));
	ogc_mask_phone(s, masked, sizeof(masked));
	ogc_mask_id_number(s, masked, 5);
	ogc_mask_phone(s, masked, 3);
	free(s);
	return 0;
}
