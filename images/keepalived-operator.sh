#!/bin/sh
# /usr/local/bin/keepalived-operator in the image (images/Dockerfile and images/build.sh install it).
exec /usr/local/bin/node /opt/keepalived-operator/bin/keepalived-operator.js "$@"
