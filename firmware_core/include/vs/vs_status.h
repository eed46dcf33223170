/*
 * vs_status.h - status codes shared by every firmware_core module.
 *
 * Functions that can fail return int: VS_OK (0) on success, a negative VS_ERR_* code otherwise. Modules may
 * define their own codes below VS_ERR_MODULE_BASE (e.g. -100 and down) in their own headers.
 */
#ifndef VS_STATUS_H
#define VS_STATUS_H

#define VS_OK 0
#define VS_ERR_ARG (-1)          /* a NULL pointer or an out-of-range argument */
#define VS_ERR_SIZE (-2)         /* a buffer is too small for the data */
#define VS_ERR_CONFIG (-3)       /* the compiled-in configuration cannot do what was asked */
#define VS_ERR_STATE (-4)        /* called in the wrong state (e.g. before _init) */
#define VS_ERR_UNSUPPORTED (-5)  /* valid request this build does not implement */
#define VS_ERR_MODULE_BASE (-100)

#endif /* VS_STATUS_H */
