#!/usr/bin/env python3
"""Independent cosign-format fixtures (Python cryptography + pynacl), not palisade's code.

  keygen PREFIX PASSWORD           write PREFIX.key (ENCRYPTED SIGSTORE PRIVATE KEY) and PREFIX.pub
  sign KEYFILE PASSWORD PAYLOADFILE print the base64 DER ECDSA-P256-SHA256 signature of the payload
  verify PUBFILE PAYLOADFILE SIG    exit 0 if the signature verifies
"""
import base64, hashlib, json, os, sys
import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(b):
    return base64.b64encode(b).decode()


def pem(label, der):
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def keygen(prefix, password):
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    salt, nonce = os.urandom(32), os.urandom(24)
    secret = hashlib.scrypt(password.encode(), salt=salt, n=32768, r=8, p=1, maxmem=64 << 20, dklen=32)
    box = nacl.secret.SecretBox(secret)
    ciphertext = box.encrypt(der, nonce).ciphertext
    doc = {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": b64(salt)},
           "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)}, "ciphertext": b64(ciphertext)}
    with open(prefix + ".key", "w") as f:
        f.write(pem("ENCRYPTED SIGSTORE PRIVATE KEY", json.dumps(doc).encode()))
    with open(prefix + ".pub", "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def load(keyfile, password):
    text = open(keyfile).read()
    body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
    doc = json.loads(base64.b64decode(body))
    p = doc["kdf"]["params"]
    secret = hashlib.scrypt(password.encode(), salt=base64.b64decode(doc["kdf"]["salt"]), n=p["N"], r=p["r"], p=p["p"], maxmem=64 << 20, dklen=32)
    der = nacl.secret.SecretBox(secret).decrypt(base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, None)


def main():
    cmd = sys.argv[1]
    if cmd == "keygen":
        keygen(sys.argv[2], sys.argv[3])
    elif cmd == "sign":
        key = load(sys.argv[2], sys.argv[3])
        print(b64(key.sign(open(sys.argv[4], "rb").read(), ec.ECDSA(hashes.SHA256()))))
    elif cmd == "verify":
        pub = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
        pub.verify(base64.b64decode(sys.argv[4]), open(sys.argv[3], "rb").read(), ec.ECDSA(hashes.SHA256()))
    else:
        sys.exit("unknown command")


main()
