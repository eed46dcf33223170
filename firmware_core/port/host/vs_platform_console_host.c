/* Host fake of vs_platform_console.h: stdout and exit(). */
#include <stdio.h>
#include <stdlib.h>

#include "vs/vs_platform_console.h"

void vs_platform_console_write(const char *s)
{
    fputs(s, stdout);
}

void vs_platform_exit(int code)
{
    fflush(stdout);
    exit(code);
}

uint32_t vs_platform_stack_high_water(void)
{
    return 0; /* the host stack is the OS's; ASan watches it instead */
}
