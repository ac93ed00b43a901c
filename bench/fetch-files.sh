#!/bin/sh
# The download benchmark on a torrent of 1,000 files (bench/fetch.sh).
FILES=${FILES:-1000} exec sh "$(dirname "$0")/fetch.sh"
