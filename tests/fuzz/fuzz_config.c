/*
 * fuzz_config: libFuzzer target for the configuration parser
 * (common/config.h, config_load_string). The input is a whole lmtpscan.conf.
 * Checks: a refused configuration comes with a message naming the input;
 * an accepted one is freed without leaks. Inputs are cut at 64 KiB (the
 * parser's cost is linear; longer inputs only slow the fuzzer down).
 */
#include "common/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CONFIG_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_CONFIG_MAX)
        size = FUZZ_CONFIG_MAX;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct config *cfg = NULL;
    char err[1024];
    err[0] = '\0';
    if (config_load_string(text, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
        if (cfg == NULL)
            abort();
        config_free(cfg);
    } else if (strstr(err, "fuzz.conf") == NULL) {
        abort();
    }
    free(text);
    return 0;
}
