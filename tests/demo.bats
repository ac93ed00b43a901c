#!/usr/bin/env bats
# make demo's script: a whole download on 127.0.0.1, checked.

load helper

@test "the demo downloads a byte-identical copy through the pipeline" {
	run --separate-stderr timeout 120 sh "$top/examples/demo.sh"
	assert_success
	assert_line "demo: verified, byte-identical to the source"
	dir=$(printf '%s\n' "$output" | sed -n 's/^demo: the files are in //p')
	[ -n "$dir" ]
	[ -f "$dir/data.bin" ] && [ -f "$dir/docs/more.bin" ]
	run bt-verify "${dir%/sample}/../sample.torrent" "${dir%/sample}"
	assert_success
	# Everything it started is gone.
	work=${dir%/download/sample}
	run pgrep -f "$work"
	assert_failure
	rm -rf "$work"
}
