#!/bin/sh
# Shared by the stack packages (nfpm: deb postinst and rpm %post): the package's own system user
# from its sysusers.d file, then systemd picks up the unit. The service is neither enabled nor
# started: the admin does that (systemctl enable --now) after looking at the config.
set -e
for conf in /usr/lib/sysusers.d/oteldemo-otelcol.conf /usr/lib/sysusers.d/oteldemo-jaeger.conf /usr/lib/sysusers.d/oteldemo-zipkin.conf; do
        [ -f "$conf" ] || continue
        if command -v systemd-sysusers >/dev/null 2>&1; then
                systemd-sysusers "$conf"
        else
                user=$(awk '$1 == "u" { print $2 }' "$conf")
                id "$user" >/dev/null 2>&1 || useradd --system --home-dir "/var/lib/$user" --shell /usr/sbin/nologin "$user"
        fi
done
if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
fi
exit 0
