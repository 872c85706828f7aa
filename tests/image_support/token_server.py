"""A tiny token server for docker-registry's `auth.token` (distribution's token spec), for tests.

Usage: token_server.py CERT_OUT ISSUER USER PASSWORD
Generates an ECDSA P-256 key and a self-signed certificate (written to CERT_OUT, which the
registry trusts as `rootcertbundle`), listens on a free loopback port, prints the port on the
first line of stdout, and answers GET /token?service=S&scope=repository:NAME:ACTIONS with an
ES256 JWT (x5c header) granting the requested actions, only to USER:PASSWORD (basic auth).
"""
import base64, datetime, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

cert_out, issuer, user, password = sys.argv[1:5]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "palisade-test-token")])
now = datetime.datetime.utcnow()
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
with open(cert_out, "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def token(service, scopes):
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3 and parts[0] == "repository":
            access.append({"type": "repository", "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
    t = int(time.time())
    claims = {"iss": issuer, "sub": user, "aud": service, "exp": t + 600, "nbf": t - 60, "iat": t,
              "jti": os.urandom(8).hex(), "access": access}
    header = {"typ": "JWT", "alg": "ES256", "x5c": [x5c]}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
    return signing + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/token":
            self.send_response(404); self.end_headers(); return
        if self.headers.get("Authorization") != expected:
            self.send_response(401); self.end_headers(); return
        q = parse_qs(url.query)
        body = json.dumps({"token": token(q.get("service", [""])[0], q.get("scope", []))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
