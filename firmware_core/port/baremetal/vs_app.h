/*
 * vs_app.h - the bare-metal node application shared by firmware_stm32 and firmware_rv32: vs_node configured
 * from the generated bundle header (vs_app_config.h: alarm rule, model hash, firmware version; written by
 * `python -m vibsentry.nodes.fwconfig`) and from a provisioning block in flash.
 *
 * The provisioning block (section .vs_ident, 64 bytes, little-endian) holds what differs between two nodes
 * running the same image: node id, machine name, trigger settings, STATUS period. The build writes defaults;
 * a factory tool (or the QEMU runner, vibsentry.nodes.qemu) replaces the section with
 * `objcopy --update-section .vs_ident=ident.bin`, so one image serves a whole fleet.
 */
#ifndef VS_APP_H
#define VS_APP_H

#include <stdint.h>

#include "vs/vs_node.h"

#define VS_APP_IDENT_MAGIC 0x31444956u /* "VID1" */

typedef struct {
    uint32_t magic;              /* VS_APP_IDENT_MAGIC, else the defaults are used */
    uint16_t node_id;            /* protocol node id */
    uint16_t reserved;
    float trigger_rms_g;         /* vs_node_config_t fields of the same name */
    float trigger_peak_g;
    uint32_t heartbeat_frames;
    uint32_t status_period_ms;
    char machine[VS_PROTO_MAX_STRING + 8]; /* NUL-terminated, <= 32 characters */
} vs_app_ident_t;

/* 64 bytes: the Python side packs it with struct format "<IHHffII40s". */
typedef char vs_app_ident_size_check[(sizeof(vs_app_ident_t) == 64u) ? 1 : -1];

/* The model-update keys block (section .vs_keys, 72 bytes, little-endian; Python struct "<IHH64s"): the Ed25519
 * public keys a signed model must verify under (vibsentry keys new: public.key, raw 32 bytes), and the number
 * of healthy analysed frames that confirm a model in TRIAL. Like .vs_ident it is written after linking
 * (objcopy --update-section .vs_keys=keys.bin; vibsentry.nodes.qemu.provision), so one image serves plants
 * with different keys. The build writes the magic and no key: such a node NACKs MODEL_BEGIN (unsupported)
 * until a key is provisioned. Built with MODEL_UPDATE=0 the image has no update code at all. */
#define VS_APP_KEYS_MAGIC 0x3159454Bu /* "KEY1" */
#define VS_APP_MAX_KEYS 2u
typedef struct {
    uint32_t magic;        /* VS_APP_KEYS_MAGIC, else no key */
    uint16_t n_keys;       /* keys[0..n_keys) are used, <= VS_APP_MAX_KEYS */
    uint16_t trial_frames; /* healthy analysed frames that confirm a TRIAL model (0: the default 8) */
    uint8_t keys[VS_APP_MAX_KEYS][32];
} vs_app_keys_t;
typedef char vs_app_keys_size_check[(sizeof(vs_app_keys_t) == 72u) ? 1 : -1];

/* The node instance (static storage: the ports' sampling ISRs push into it). */
extern vs_node_t vs_app_node;

/* Configure and start the node; returns only on a configuration error (the VS_ERR_* of vs_node_init/start).
 * The port has set up its clock, UART and interrupts before; start_watchdog runs right before vs_node_run
 * (NULL: no watchdog). */
int vs_app_run(void (*start_watchdog)(void));

#endif /* VS_APP_H */
