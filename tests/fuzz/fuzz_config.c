/*
 * tests/fuzz/fuzz_config.c — libFuzzer harness for core/config.c: the input
 * is written to a memfd and loaded as the configuration file (JSON, every
 * key's type and range, the plugin list, the listen address), then freed.
 * Not for: the environment overrides (the environment is left empty).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	ogc_config cfg;
	char err[512];

	if (fd < 0) {
		fd = memfd_create("fuzz-config", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	if (ogc_config_load(&cfg, path, err, sizeof(err)) != 0 && err[0] == '\0')
		abort(); /* a refusal always says why */
	ogc_config_free(&cfg);
	return 0;
}
