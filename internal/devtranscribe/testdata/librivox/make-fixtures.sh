#!/bin/sh
# Copies three LibriVox clips from Debian's pocketsphinx-testdata into this
# directory, each in a format the API accepts, so the engine's tests
# decode them as it decodes any upload: one WAV as shipped, one FLAC, one
# Ogg Opus. Needs pocketsphinx-testdata and ffmpeg (apt-get install).
set -eu
src=/usr/share/pocketsphinx/test/data/librivox
cd "$(dirname "$0")"
cp "$src/sense_and_sensibility_01_austen_64kb-0880.wav" clip-0880.wav
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$src/sense_and_sensibility_01_austen_64kb-0930.wav" \
	-c:a flac -compression_level 8 clip-0930.flac
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$src/sense_and_sensibility_01_austen_64kb-0870.wav" \
	-c:a libopus -b:a 64k -ac 1 clip-0870.opus
# The reference transcripts, one line per clip: file name, then the words.
for n in 0880:wav 0930:flac 0870:opus; do
	id=${n%%:*} ext=${n##*:}
	words=$(grep "austen_64kb-$id)" "$src/transcription" | sed -e 's/^<s> //' -e 's/ <\/s> (.*$//')
	printf '%s\t%s\n' "clip-$id.$ext" "$words"
done >reference.tsv
