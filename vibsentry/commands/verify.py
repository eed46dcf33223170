"""``vibsentry verify``: check a signed bundle against a public key, as a node would."""

from __future__ import annotations

import argparse
import json

HELP = "verify a signed model bundle with a public key"
DESCRIPTION = """\
Check BUNDLE's signed_manifest.sig over signed_manifest.json with the raw 32-byte public key, then the model
image's size and SHA-256, the feature_hash and bundle_sha256 against bundle.json, and bundle.json's own
checksums (docs/signing.md). Exit 0 and one line when everything holds; exit 1 and one line naming the
first thing that does not.

examples:
  vibsentry verify bundles/pump7 --pub /etc/vibsentry/signing/public.key
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry verify``."""
    p.add_argument("bundle", metavar="BUNDLE", help="signed bundle directory")
    p.add_argument("--pub", required=True, metavar="public.key", help="raw 32-byte Ed25519 public key")
    p.add_argument("--json", action="store_true", help="print the verified manifest as JSON")


def run(args: argparse.Namespace) -> int:
    """Verify and report."""
    from vibsentry.signing import verify_bundle

    m = verify_bundle(args.bundle, args.pub)
    if args.json:
        print(json.dumps(m.doc, sort_keys=True))
    else:
        print(
            f"verified {args.bundle}: {m.doc['model_id']} counter {m.counter}, "
            f"image sha256 {m.doc['image']['sha256'][:16]}…, key {m.doc['key_id']}"
        )
    return 0
