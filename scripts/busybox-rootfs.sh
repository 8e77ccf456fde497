#!/usr/bin/env bash
# Writes a tar of a minimal root filesystem built from busybox-static (with its applet links, a PATH-able
# /bin, and /var/www/index.html for httpd), and prints its path.
set -euo pipefail
[ -x /bin/busybox ] || { echo "busybox-static is missing: apt-get install busybox-static" >&2; exit 1; }
rootfs=$(mktemp -d)
out=$(mktemp --suffix=.tar)
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/var/www" "$rootfs/etc"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$rootfs/etc/passwd"
echo "hello from stowage" > "$rootfs/var/www/index.html"
tar -C "$rootfs" -cf "$out" .
rm -rf "$rootfs"
echo "$out"
