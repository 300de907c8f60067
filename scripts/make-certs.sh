#!/usr/bin/env bash
# Makes the certificates PixEcom runs with, using the openssl command-line tool:
#
#   DIR/ca.pem, DIR/ca.key            the internal CA (signs everything below)
#   DIR/<name>.pem, DIR/<name>.key    one mutual-TLS identity per service, for name in
#                                     auth campaign stats orders edge:
#                                     CN=<name>, subjectAltName DNS:<name>.pixecom.internal,
#                                     extendedKeyUsage serverAuth + clientAuth
#   DIR/edge-https.pem, .key          the browser-facing HTTPS certificate of the Edge:
#                                     CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1
#                                     (plus PIXECOM_EDGE_HTTPS_SANS, e.g. "DNS:shop.example,IP:10.0.0.5")
#
# Keys are EC P-256 (prime256v1) in PKCS#8 PEM ("BEGIN PRIVATE KEY"); certificates are valid for
# 825 days (PIXECOM_CERT_DAYS). Idempotent: when DIR/ca.pem exists nothing is remade (a missing
# leaf is issued from the existing CA) unless --force is given.
#
# Usage: scripts/make-certs.sh [--force] [--owner UID:GID] DIR
#   --force          remake the CA and every certificate
#   --owner UID:GID  chown the files to this owner (compose uses it so that the unprivileged
#                    service user can read its key); under sudo the default owner is the sudo caller
#
# Standalone on purpose (no other file of the repo is needed): the compose image runs it too.
set -euo pipefail

services=(auth campaign stats orders edge)
days=${PIXECOM_CERT_DAYS:-825}
domain=pixecom.internal

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
log() { printf '%s\n' "$*" >&2; }
die() { printf 'make-certs: error: %s\n' "$*" >&2; exit 1; }

force=0
owner=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --owner) [ $# -ge 2 ] || die "--owner needs UID:GID"; owner=$2; shift ;;
    --owner=*) owner=${1#--owner=} ;;
    -h|--help) usage 0 ;;
    -*) log "unknown option: $1"; usage ;;
    *) [ -z "$dir" ] || die "only one DIR may be given"; dir=$1 ;;
  esac
  shift
done
[ -n "$dir" ] || usage
case "$days" in ''|*[!0-9]*) die "PIXECOM_CERT_DAYS must be a number of days, got '$days'" ;; esac
if [ -z "$owner" ] && [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_UID:-}" ] && [ -n "${SUDO_GID:-}" ]; then
  owner="$SUDO_UID:$SUDO_GID"
fi
case "$owner" in ''|[0-9]*:[0-9]*) ;; *) die "--owner must be numeric UID:GID, got '$owner'" ;; esac

# openssl itself: install it with apt-get when it is missing (root, or sudo for a developer).
if ! command -v openssl >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "openssl is not installed"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing openssl"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2
fi

umask 077
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Every file this script manages.
managed=(ca.pem ca.key edge-https.pem edge-https.key)
for s in "${services[@]}"; do managed+=("$s.pem" "$s.key"); done

if [ -e "$dir/ca.pem" ] && [ "$force" -eq 0 ]; then
  missing=()
  for f in "${managed[@]}"; do [ -e "$dir/$f" ] || missing+=("$f"); done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "certificates in $dir already exist (use --force to remake them)"
    for f in "$dir"/*.pem; do
      openssl x509 -in "$f" -noout -checkend $((30 * 86400)) >/dev/null \
        || log "warning: $f expires within 30 days: run scripts/make-certs.sh --force $dir"
    done
    exit 0
  fi
  [ -e "$dir/ca.key" ] || die "$dir/ca.pem exists but ca.key does not; cannot issue ${missing[*]} (use --force)"
  log "issuing missing files from the existing CA: ${missing[*]}"
  make_ca=0
else
  make_ca=1
fi

# Work in a private scratch folder inside DIR and move finished files into place, so an
# interrupted run never leaves a half-written certificate (ca.pem is moved last).
work=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

if [ "$make_ca" -eq 1 ]; then
  cat >"$work/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = PixEcom
CN = PixEcom Internal CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
  new_key "$work/ca.key"
  openssl req -config "$work/ca.cnf" -x509 -new -key "$work/ca.key" -sha256 -days "$days" \
    -set_serial "$(serial)" -out "$work/ca.pem"
  ca_pem=$work/ca.pem
  ca_key=$work/ca.key
else
  ca_pem=$dir/ca.pem
  ca_key=$dir/ca.key
fi

# issue NAME CN SUBJECT_ALT_NAMES EXTENDED_KEY_USAGE
issue() {
  local name=$1 cn=$2 san=$3 eku=$4
  if [ "$make_ca" -eq 0 ] && [ -e "$dir/$name.pem" ] && [ -e "$dir/$name.key" ]; then
    return 0
  fi
  cat >"$work/$name.req.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $cn
EOF
  cat >"$work/$name.ext.cnf" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $eku
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
  new_key "$work/$name.key"
  openssl req -config "$work/$name.req.cnf" -new -key "$work/$name.key" -sha256 -out "$work/$name.csr"
  openssl x509 -req -in "$work/$name.csr" -CA "$ca_pem" -CAkey "$ca_key" -set_serial "$(serial)" \
    -days "$days" -sha256 -extfile "$work/$name.ext.cnf" -out "$work/$name.pem" 2>/dev/null
  openssl verify -CAfile "$ca_pem" "$work/$name.pem" >/dev/null || die "could not verify $name.pem"
}

for s in "${services[@]}"; do
  issue "$s" "$s" "DNS:$s.$domain" "serverAuth, clientAuth"
done
https_sans="DNS:localhost, IP:127.0.0.1"
[ -z "${PIXECOM_EDGE_HTTPS_SANS:-}" ] || https_sans="$https_sans, $PIXECOM_EDGE_HTTPS_SANS"
issue edge-https localhost "$https_sans" "serverAuth"

# Certificates are public (0644), keys private (0600); then move them into place, CA last.
for f in "${managed[@]}"; do
  [ -e "$work/$f" ] || continue
  case "$f" in *.key) chmod 600 "$work/$f" ;; *) chmod 644 "$work/$f" ;; esac
  [ -z "$owner" ] || chown "$owner" "$work/$f"
done
for f in "${managed[@]}"; do
  [ "$f" = ca.pem ] || [ ! -e "$work/$f" ] || mv -f "$work/$f" "$dir/$f"
done
[ ! -e "$work/ca.pem" ] || mv -f "$work/ca.pem" "$dir/ca.pem"
[ -z "$owner" ] || chown "$owner" "$dir" 2>/dev/null || true
log "certificates written to $dir"
