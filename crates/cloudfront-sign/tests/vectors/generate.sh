#!/usr/bin/env bash
# Regenerates vectors.json with AWS's own signers: botocore's CloudFrontSigner
# (Python) and @aws-sdk/cloudfront-signer (Node), using the test keys in keys/.
# Needs python3, node and npm; installs both libraries into a temporary folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "botocore==1.44.8" "cryptography>=42"
(cd "$work" && npm init -y >/dev/null && npm install --silent "@aws-sdk/cloudfront-signer@3.1166.0")
PYTHONPATH="$here" "$work/venv/bin/python" "$here/botocore_vectors.py" "$here/keys" > "$work/botocore.json"
NODE_PATH="$work/node_modules" node "$here/js_vectors.js" "$here/keys" > "$work/js.json"
"$work/venv/bin/python" - "$work/botocore.json" "$work/js.json" > "$here/vectors.json" <<'PY'
import json, sys
botocore, js = (json.load(open(p)) for p in sys.argv[1:3])
print(json.dumps({"botocore": botocore, "js": js}, indent=1, ensure_ascii=False))
PY
echo "wrote $here/vectors.json"
