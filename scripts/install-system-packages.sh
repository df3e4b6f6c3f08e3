#!/usr/bin/env bash
# Debian packages guichet's tests and demo use: LibreOffice (legacy .doc/.odt and the
# PDF fixtures), Dovecot (IMAP tests), PostgreSQL (multi-worker tests), Chromium (the
# digest screenshot). Installs only what is missing; needs root or sudo.
set -euo pipefail

packages=(libreoffice-writer-nogui dovecot-imapd dovecot-lmtpd postgresql chromium openssl)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-system-packages: not root and no sudo; please install: ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
