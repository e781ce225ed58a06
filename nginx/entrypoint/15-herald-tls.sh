#!/bin/sh
# Run by the nginx image's entrypoint (from /docker-entrypoint.d/) before nginx
# starts: HTTPS on :8443 needs $HERALD_TLS_CERT and $HERALD_TLS_KEY (compose:
# ./certs/tls.crt and ./certs/tls.key). Present, they are used as they are (a
# real certificate: the full chain, PEM). Absent, a self-signed certificate for
# localhost, 127.0.0.1 and ::1 is written there once and kept, so a browser
# told to trust it (certs/README.md) keeps trusting it across restarts.
set -eu
crt=${HERALD_TLS_CERT:?} key=${HERALD_TLS_KEY:?}
if [ -s "$crt" ] && [ -s "$key" ]; then
    echo "$0: HTTPS with $crt"
    exit 0
fi
if ! command -v openssl >/dev/null; then
    echo "$0: no $crt and no openssl to make one: put tls.crt and tls.key in ./certs" >&2
    exit 1
fi
mkdir -p "$(dirname "$crt")" "$(dirname "$key")"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=localhost/O=Herald development (self-signed)" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$key" -out "$crt" 2>/dev/null
chmod 644 "$crt"
echo "$0: HTTPS with a new self-signed certificate for localhost: $crt (trust it or replace it: see certs/README.md)"
