#!/bin/sh
echo "checking $1"
