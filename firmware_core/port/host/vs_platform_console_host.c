/* Host fake of vs_platform_console.h: stdout and exit(); the stack figures are what vs_host_set_stack set. */
#include <stdio.h>
#include <stdlib.h>

#include "vs/vs_platform_console.h"
#include "vs_host_fakes.h"

/* The host stack is the OS's (ASan watches it): 0 = unknown unless a test sets figures to see them reported. */
static uint32_t stack_used, stack_size;

void vs_host_set_stack(uint32_t used_bytes, uint32_t size_bytes)
{
    stack_used = used_bytes;
    stack_size = size_bytes;
}

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
    return stack_used;
}

uint32_t vs_platform_stack_size(void)
{
    return stack_size;
}
