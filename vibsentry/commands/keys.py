"""``vibsentry keys new``: an Ed25519 key pair for signing model bundles."""

from __future__ import annotations

import argparse
import json

HELP = "create an Ed25519 key pair for signing model bundles (keys new --out DIR)"
DESCRIPTION = """\
Create the key pair that signs model bundles (docs/signing.md):

  DIR/private.pem   PKCS#8 PEM private key, file mode 0600; keep it on the training server only
  DIR/public.key    the raw 32-byte public key, embedded in node firmware and given to 'vibsentry verify'

Existing key files are never overwritten (nodes may already trust them): the command fails instead.

examples:
  vibsentry keys new --out /etc/vibsentry/signing
  vibsentry keys new --out keys/ --json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register ``vibsentry keys new``."""
    sub = p.add_subparsers(dest="keys_action", metavar="ACTION", required=True, parser_class=type(p))
    new = sub.add_parser("new", help="create DIR/private.pem and DIR/public.key")
    new.add_argument("--out", "-o", required=True, metavar="DIR", help="folder for the two key files")
    new.add_argument("--json", action="store_true", help="print the paths and key id as JSON")


def run(args: argparse.Namespace) -> int:
    """Create the key pair."""
    from vibsentry.signing import new_keypair

    kp = new_keypair(args.out)
    if args.json:
        print(json.dumps({"private": str(kp.private), "public": str(kp.public), "key_id": kp.key_id}))
    else:
        print(f"key {kp.key_id}: private {kp.private} (mode 0600), public {kp.public}")
    return 0
