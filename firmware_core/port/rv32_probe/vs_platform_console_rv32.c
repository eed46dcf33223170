/*
 * vs_platform_console.h for the RV32IMC size probe: the benchmark program linked against picolibc only to
 * measure what the core takes in flash and RAM on an ESP32-C3-class target. There is no RV32 emulator in the
 * test setup, so the console is silent; firmware_esp32 maps it to ESP-IDF logging.
 */
#include <stdlib.h>

#include "vs/vs_platform_console.h"

void vs_platform_console_write(const char *s)
{
    (void)s;
}

uint32_t vs_platform_stack_high_water(void)
{
    return 0;
}

void vs_platform_exit(int code)
{
    exit(code);
}
