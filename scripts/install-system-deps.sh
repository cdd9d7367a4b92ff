#!/usr/bin/env bash
# Installs the reverse proxies and the load generator used by the end-to-end tests and the
# benchmark (Debian 12), and makes sure none of the packaged services is left running on port 80:
# the tests start their own instances on free 127.0.0.1 ports. Safe to run again.
set -euo pipefail

# openssl makes the remote-file tests' CA; ca-certificates is the CA bundle the shipped nginx.conf
# verifies storage against (nginx refuses to start without the file).
packages=(nginx apache2 libapache2-mod-xsendfile lighttpd caddy wrk curl chromium openssl ca-certificates)
services=(nginx apache2 lighttpd caddy)
xsendfile_so=/usr/lib/apache2/modules/mod_xsendfile.so
export PATH="$PATH:/usr/sbin:/sbin"

missing=0
for bin in nginx apache2 lighttpd caddy wrk curl chromium openssl; do
  command -v "$bin" >/dev/null 2>&1 || missing=1
done
[ -f "$xsendfile_so" ] || missing=1
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing=1

if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-system-deps: packages are missing and this is not root; run: sudo $0" >&2
    exit 1
  fi
  # Debian's maintainer scripts start each service right after installing it (nginx, apache2 and
  # lighttpd would all take port 80). A policy-rc.d that answers 101 forbids that; remove it after,
  # unless it was already there.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
    trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
fi

# Stop and disable whatever the packages may have started (now or on an earlier run): through
# systemd when it runs, else the init scripts; then by pid file for anything still alive.
for svc in "${services[@]}"; do
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    if [ -x "/etc/init.d/$svc" ]; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
    if [ "$(id -u)" = 0 ] && command -v update-rc.d >/dev/null 2>&1 && [ -x "/etc/init.d/$svc" ]; then
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  fi
done
for pidfile in /run/nginx.pid /run/apache2/apache2.pid /var/run/apache2/apache2.pid /run/lighttpd.pid; do
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
done

# Port 80 must be free of the packaged services (a test proxy never uses it, but a stray packaged
# instance would answer with the wrong config and confuse debugging).
if command -v ss >/dev/null 2>&1 && ss -Hltnp 'sport = :80' 2>/dev/null | grep -Eq 'nginx|apache2|lighttpd|caddy'; then
  echo "install-system-deps: a packaged web server still listens on port 80:" >&2
  ss -Hltnp 'sport = :80' >&2
  exit 1
fi

echo "== versions"
nginx -v 2>&1
apache2 -v | head -n1
echo "mod_xsendfile: $(dpkg-query -W -f='${Version}' libapache2-mod-xsendfile 2>/dev/null || echo '?') ($xsendfile_so)"
lighttpd -v | head -n1
echo "caddy $(caddy version)"
wrk -v 2>&1 | head -n1 || true
