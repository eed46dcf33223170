"""``vibsentry sign``: add the model image and a signed manifest to a bundle."""

from __future__ import annotations

import argparse
import json

HELP = "sign a model bundle: add model.vsm, signed_manifest.json and signed_manifest.sig"
DESCRIPTION = """\
Sign a bundle for deployment to nodes (docs/signing.md). Adds three files to BUNDLE, each atomically:

  model.vsm              the model image the node runs from flash (docs/model_image.md)
  signed_manifest.json   model id, version, monotonic counter, image size and SHA-256, feature_hash,
                         bundle_sha256, key id (canonical JSON)
  signed_manifest.sig    the raw 64-byte Ed25519 signature over the exact bytes of signed_manifest.json

The bundle is verified first (bundle.json checksums). Nodes refuse a model whose counter is not above the
one they run: --counter defaults to the current Unix time (and always exceeds the bundle's previous one).

examples:
  vibsentry sign bundles/pump7 --key /etc/vibsentry/signing/private.pem
  vibsentry sign bundles/pump7 --key keys/private.pem --counter 42 --model-id pump7 --version 2.1
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry sign``."""
    p.add_argument("bundle", metavar="BUNDLE", help="bundle directory written by 'vibsentry train'")
    p.add_argument("--key", "-k", required=True, metavar="PRIVATE.pem", help="Ed25519 private key (keys new)")
    p.add_argument("--counter", type=int, metavar="N", help="monotonic counter, 1..4294967295")
    p.add_argument("--model-id", metavar="ID", help="model line name (default: the bundle folder's name)")
    p.add_argument("--version", metavar="LABEL", help="version label (default: the bundle's created_at)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")


def run(args: argparse.Namespace) -> int:
    """Sign the bundle."""
    from vibsentry.signing import sign_bundle

    m = sign_bundle(args.bundle, args.key, counter=args.counter, model_id=args.model_id, version=args.version)
    if args.json:
        print(json.dumps(m.doc, sort_keys=True))
    else:
        img = m.doc["image"]
        print(
            f"signed {args.bundle}: {m.doc['model_id']} counter {m.counter}, {img['file']} {img['size']} bytes "
            f"sha256 {img['sha256'][:16]}…, key {m.doc['key_id']}"
        )
    return 0
