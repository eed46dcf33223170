/*
 * vs_status.h - status codes shared by every firmware_core module.
 *
 * Functions that can fail return int: VS_OK (0) on success, a negative code otherwise. Every code of every
 * module lives in ONE registry, specs/status_codes.toml (each module owns a range of ten values; the values are
 * unique, which tests/project/test_specs.py checks), generated into vs/generated/vs_status_codes.h. To add a code, edit
 * the registry and run `python3 scripts/gen_specs.py`; never #define a status code in a module header.
 */
#ifndef VS_STATUS_H
#define VS_STATUS_H

#include "vs/generated/vs_status_codes.h"

#endif /* VS_STATUS_H */
