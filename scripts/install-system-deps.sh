#!/usr/bin/env bash
# Installs the programs the end-to-end tests and the benchmark run (Debian 12 packages): nginx,
# Apache + mod_xsendfile, lighttpd, Caddy, Chromium, wrk and curl. The tests start their own
# instances on free 127.0.0.1 ports; nothing here touches a service that was on the machine before.
#
# - Missing programs are installed with apt-get, only as root on a Debian-like system (and not when
#   DOWNLOADVIEW_NO_INSTALL=1). While it runs, a temporary policy-rc.d keeps the new packages'
#   services from starting (it is removed again unless it was already there); the services of
#   packages installed by this run are then disabled, so they do not start at the next boot either.
# - Services that existed before are never stopped, disabled, reconfigured or killed.
# - Without root or apt-get, it lists what is missing and which test suites will be skipped, and
#   exits 0, so `npm test` still runs every suite it can. With CI=true anything missing is an error.
# Safe to run again.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

# openssl makes the remote-file tests' CA; ca-certificates is the CA bundle the shipped nginx.conf
# verifies storage against (nginx refuses to start without the file).
packages=(nginx apache2 libapache2-mod-xsendfile lighttpd caddy wrk curl chromium openssl ca-certificates)
services=(nginx apache2 lighttpd caddy)
xsendfile_so=/usr/lib/apache2/modules/mod_xsendfile.so

# Each program, the package that provides it, and what needs it (shown when it is missing).
declare -A package_of=([nginx]=nginx [apache2]=apache2 [mod_xsendfile]=libapache2-mod-xsendfile
  [lighttpd]=lighttpd [caddy]=caddy [chromium]=chromium [wrk]=wrk [curl]=curl [openssl]=openssl
  [ca_bundle]=ca-certificates)
declare -A needed_by=([nginx]='e2e suites behind nginx' [apache2]='e2e suites behind Apache'
  [mod_xsendfile]='e2e suites behind Apache' [lighttpd]='e2e suites behind lighttpd'
  [caddy]='e2e suites behind Caddy' [chromium]='browser tests' [wrk]='npm run bench' [curl]='npm run bench'
  [openssl]='remote-source e2e suites (their test CA)' [ca_bundle]='suites behind nginx (the shipped config verifies storage TLS against it)')

ca_bundle=/etc/ssl/certs/ca-certificates.crt

has() {
  case "$1" in
    mod_xsendfile) [ -f "$xsendfile_so" ] ;;
    ca_bundle) [ -f "$ca_bundle" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing_programs() {
  local program
  for program in nginx apache2 mod_xsendfile lighttpd caddy chromium wrk curl openssl ca_bundle; do
    has "$program" || echo "$program"
  done
}

# Whether a service of that name is known to the init system (an init script or a systemd unit).
service_exists() {
  [ -e "/etc/init.d/$1" ] || [ -e "/lib/systemd/system/$1.service" ] || [ -e "/usr/lib/systemd/system/$1.service" ] || [ -e "/etc/systemd/system/$1.service" ]
}

missing=$(missing_programs)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${DOWNLOADVIEW_NO_INSTALL:-}" != 1 ]; then
    # Services present before this run are left exactly as they are; only new ones are disabled below.
    preexisting=()
    for svc in "${services[@]}"; do
      if service_exists "$svc"; then preexisting+=("$svc"); fi
    done
    # Debian's maintainer scripts start each service right after installing it (nginx, apache2 and
    # lighttpd would all take port 80). A policy-rc.d answering 101 forbids that; it is removed
    # after, unless it was already there.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      trap 'rm -f "$policy"' EXIT
      printf '#!/bin/sh\n# next-downloadview scripts/install-system-deps.sh: no service starts while it installs\nexit 101\n' > "$policy"
      chmod 755 "$policy"
    fi
    echo "install-system-deps: installing with apt-get: ${packages[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
    for svc in "${services[@]}"; do
      if [[ " ${preexisting[*]} " == *" $svc "* ]] || ! service_exists "$svc"; then continue; fi
      echo "install-system-deps: disabling the service of the newly installed $svc (the tests start their own)"
      if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
      elif command -v update-rc.d >/dev/null 2>&1 && [ -x "/etc/init.d/$svc" ]; then
        update-rc.d "$svc" disable >/dev/null 2>&1 || true
      fi
    done
    missing=$(missing_programs)
  fi
fi

if [ -n "$missing" ]; then
  echo "install-system-deps: not installed, so these will be skipped:" >&2
  for program in $missing; do
    echo "  - $program (Debian package ${package_of[$program]}): ${needed_by[$program]}" >&2
  done
  echo "  Install them as root on Debian/Ubuntu with: sudo bash scripts/install-system-deps.sh" >&2
  if [ "${CI:-}" = true ]; then
    echo "install-system-deps: CI=true, where every suite must run: failing" >&2
    exit 1
  fi
  exit 0
fi

echo "== versions"
nginx -v 2>&1
apache2 -v | head -n1
echo "mod_xsendfile: $(dpkg-query -W -f='${Version}' libapache2-mod-xsendfile 2>/dev/null || echo '?') ($xsendfile_so)"
lighttpd -v | head -n1
echo "caddy $(caddy version)"
wrk -v 2>&1 | head -n1 || true
