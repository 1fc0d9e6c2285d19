#!/bin/sh
echo "hello from hello-image"
