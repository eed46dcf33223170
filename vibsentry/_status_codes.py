"""GENERATED — do not edit. Source: specs/status_codes.toml (sha256 55ee36336e2a8dbc64458c7f10d321e713227d7efe37ef61b9306cefb4306277); regenerate: python3 scripts/gen_specs.py

Every firmware_core C status code (name -> value), aliases included.
"""

# fmt: off

STATUS_CODES: dict[str, int] = {
    "VS_OK": 0,
    "VS_ERR_ARG": -1,
    "VS_ERR_SIZE": -2,
    "VS_ERR_CONFIG": -3,
    "VS_ERR_STATE": -4,
    "VS_ERR_UNSUPPORTED": -5,
    "VS_PROTO_E_OVERSIZE": -110,
    "VS_PROTO_E_COBS": -111,
    "VS_PROTO_E_LENGTH": -112,
    "VS_PROTO_E_CRC": -113,
    "VS_PROTO_E_VERSION": -114,
    "VS_PROTO_E_UNKNOWN_TYPE": -115,
    "VS_PROTO_E_INVALID": -116,
    "VS_PROTO_E_BUFFER": -2,  # = VS_ERR_SIZE
    "VS_PROTO_E_ARG": -1,  # = VS_ERR_ARG
    "VS_MODEL_ERR_OP": -120,
    "VS_MODEL_ERR_KERNEL": -121,
    "VS_COBS_E_FORMAT": -130,
    "VS_COBS_OK": 0,  # = VS_OK
    "VS_COBS_E_BUFFER": -2,  # = VS_ERR_SIZE
    "VS_NODE_E_OVERRUN": -140,
    "VS_ED25519_ERR_BAD_SIG": -150,
    "VS_ED25519_ERR_BAD_KEY": -151,
    "VS_IMAGE_ERR_MAGIC": -160,
    "VS_IMAGE_ERR_VERSION": -161,
    "VS_IMAGE_ERR_FORMAT": -162,
    "VS_IMAGE_ERR_CRC": -163,
    "VS_IMAGE_ERR_SIGNATURE": -164,
    "VS_IMAGE_ERR_MANIFEST": -165,
}
