"""Signed URLs from botocore's CloudFrontSigner for the committed test keys.

botocore signs the URL exactly as given (no percent-encoding) and has no
Hash-Algorithm parameter: for SHA-256 its signer callback hashes with SHA-256
and we append `&Hash-Algorithm=SHA256`, which is what CloudFront expects.
"""
import datetime, json, sys
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from common_inputs import URLS, EXPIRES, NOT_BEFORE, IP, WILDCARD, KEY_ID

keys_dir = sys.argv[1]
def load(name):
    with open(f"{keys_dir}/{name}", "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)
keys = {"rsa": load("rsa_private.pem"), "ecdsa": load("ecdsa_private.pem")}
HASHES = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}

def signer_for(kind, algo):
    key = keys[kind]
    if kind == "rsa":
        return lambda m: key.sign(m, padding.PKCS1v15(), HASHES[algo]())
    return lambda m: key.sign(m, ec.ECDSA(HASHES[algo]()))

def ts(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)

out = []
for kind in ("rsa", "ecdsa"):
    for algo in ("SHA1", "SHA256"):
        cf = CloudFrontSigner(KEY_ID, signer_for(kind, algo))
        suffix = "&Hash-Algorithm=SHA256" if algo == "SHA256" else ""
        for url in URLS:
            out.append({"key": kind, "hash": algo, "kind": "canned", "url": url, "expires": EXPIRES,
                        "policy": cf.build_policy(url, ts(EXPIRES)),
                        "signed_url": cf.generate_presigned_url(url, date_less_than=ts(EXPIRES)) + suffix})
            policy = cf.build_policy(url, ts(EXPIRES), date_greater_than=ts(NOT_BEFORE), ip_address=IP)
            out.append({"key": kind, "hash": algo, "kind": "custom", "url": url, "expires": EXPIRES,
                        "not_before": NOT_BEFORE, "ip": IP, "policy": policy,
                        "signed_url": cf.generate_presigned_url(url, policy=policy) + suffix})
        url = WILDCARD.replace("*", "display.jpg")
        policy = cf.build_policy(WILDCARD, ts(EXPIRES))
        out.append({"key": kind, "hash": algo, "kind": "custom", "url": url, "resource": WILDCARD,
                    "expires": EXPIRES, "policy": policy,
                    "signed_url": cf.generate_presigned_url(url, policy=policy) + suffix})
print(json.dumps(out, ensure_ascii=False))
