#!/bin/sh
# The demo application: greets whoever runs it.
echo "hello from the image-pipeline demo (${1:-world})"
