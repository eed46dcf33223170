/*
 * GENERATED — do not edit. Source: specs/status_codes.toml (sha256 55ee36336e2a8dbc64458c7f10d321e713227d7efe37ef61b9306cefb4306277); regenerate: python3 scripts/gen_specs.py
 *
 * Every firmware_core status code (included by vs/vs_status.h; include that one).
 */
#ifndef VS_STATUS_CODES_H
#define VS_STATUS_CODES_H

/* core (-99..0): shared by every module */
#define VS_OK 0 /* success */
#define VS_ERR_ARG (-1) /* a NULL pointer or an out-of-range argument */
#define VS_ERR_SIZE (-2) /* a buffer is too small for the data */
#define VS_ERR_CONFIG (-3) /* the compiled-in configuration cannot do what was asked */
#define VS_ERR_STATE (-4) /* called in the wrong state (e.g. before _init) */
#define VS_ERR_UNSUPPORTED (-5) /* valid request this build does not implement */

/* proto (-119..-110): vs_protocol: the decode error kinds of docs/protocol.md, one code each */
#define VS_PROTO_E_OVERSIZE (-110) /* frame longer than VS_PROTO_MAX_ENCODED / VS_PROTO_MAX_FRAME */
#define VS_PROTO_E_COBS (-111) /* bad COBS encoding (or a 0x00 inside a frame) */
#define VS_PROTO_E_LENGTH (-112) /* frame too short, or payload size wrong for its type */
#define VS_PROTO_E_CRC (-113) /* CRC mismatch */
#define VS_PROTO_E_VERSION (-114) /* header version not supported */
#define VS_PROTO_E_UNKNOWN_TYPE (-115) /* message type not defined */
#define VS_PROTO_E_INVALID (-116) /* a field outside its enumeration or limit (decode and encode) */
#define VS_PROTO_E_BUFFER VS_ERR_SIZE /* output buffer too small (encode) */
#define VS_PROTO_E_ARG VS_ERR_ARG /* NULL pointer */

/* model (-129..-120): vs_model: the int8 model runtime */
#define VS_MODEL_ERR_OP (-120) /* unknown op code in the op list */
#define VS_MODEL_ERR_KERNEL (-121) /* a kernel rejected its parameters */

/* cobs (-139..-130): vs_cobs: COBS framing */
#define VS_COBS_E_FORMAT (-130) /* a 0x00 in the input, or a block running past the end */
#define VS_COBS_OK VS_OK /* success */
#define VS_COBS_E_BUFFER VS_ERR_SIZE /* dst too small */

/* node (-149..-140): vs_node: the node application core */
#define VS_NODE_E_OVERRUN (-140) /* sample ring full: the pushed block was dropped (and counted) */

/* ed25519 (-159..-150): vs_ed25519: signature verification (strict RFC 8032 rules, see vs_ed25519.h) */
#define VS_ED25519_ERR_BAD_SIG (-150) /* signature does not verify under this key (or R / S not canonical) */
#define VS_ED25519_ERR_BAD_KEY (-151) /* public key not a canonical encoding of a point, or of small order */

/* model_image (-169..-160): vs_model_image: the flat model image (docs/model_image.md) */
#define VS_IMAGE_ERR_MAGIC (-160) /* not a model image (magic) */
#define VS_IMAGE_ERR_VERSION (-161) /* image format version not supported */
#define VS_IMAGE_ERR_FORMAT (-162) /* a size, offset or count inconsistent with the image length */
#define VS_IMAGE_ERR_CRC (-163) /* image CRC-32 mismatch */
#define VS_IMAGE_ERR_SIGNATURE (-164) /* signed manifest: the signature verifies under none of the embedded keys */
#define VS_IMAGE_ERR_MANIFEST (-165) /* signed manifest: not the canonical JSON of docs/signing.md, or a field missing or out of range */

#endif /* VS_STATUS_CODES_H */
