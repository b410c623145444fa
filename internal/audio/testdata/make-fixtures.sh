#!/bin/sh
# Regenerates the audio fixtures in this directory with ffmpeg (Debian's ffmpeg 5.1 was used).
# Tests never run this: the outputs are committed. Each file is 1 s of a tone (unless noted),
# small on purpose. Run from anywhere: sh internal/audio/testdata/make-fixtures.sh
set -eu
cd "$(dirname "$0")"
FF="ffmpeg -hide_banner -loglevel error -y"
# A speech-like tone: 220 Hz carrier, amplitude-modulated at 4 Hz (syllable rate).
tone() { # rate channels seconds
	echo "aevalsrc=0.5*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*4*t)):s=$1:c=$(chl "$2"):d=$3"
}
chl() { case $1 in 1) echo mono ;; 2) echo stereo ;; 3) echo 3.0 ;; esac; }
META="-map_metadata -1 -fflags +bitexact -flags:a +bitexact"

# WAV
$FF -f lavfi -i "$(tone 8000 1 1)" $META -c:a pcm_s16le wav_s16le.wav
$FF -f lavfi -i "$(tone 8000 1 1)" $META -c:a pcm_s24le wav_s24_extensible.wav   # >16 bit: EXTENSIBLE
$FF -f lavfi -i "$(tone 8000 3 0.5)" $META -c:a pcm_s16le wav_3ch_extensible.wav # 3 channels: EXTENSIBLE
$FF -f lavfi -i "$(tone 8000 1 0.5)" $META -c:a pcm_s16le -rf64 always wav_rf64.wav
$FF -f lavfi -i "anullsrc=r=8000:cl=mono" -t 1 $META -c:a pcm_s16le silent.wav

# MP4 / M4A / 3GP (AAC; ffmpeg here has no AMR encoder)
$FF -f lavfi -i "$(tone 44100 1 1)" $META -c:a aac -b:a 24k m4a_moov_end.m4a
$FF -f lavfi -i "$(tone 44100 1 1)" $META -c:a aac -b:a 24k -movflags +faststart m4a_faststart.m4a
$FF -f lavfi -i "$(tone 48000 1 2)" $META -c:a aac -b:a 24k \
	-movflags frag_keyframe+empty_moov+default_base_moof -frag_duration 500000 mp4_fragmented.mp4
# The same without the trailer (no mfra), as browsers' MediaRecorder writes it
$FF -f lavfi -i "$(tone 48000 1 2)" $META -c:a aac -b:a 24k \
	-movflags frag_keyframe+empty_moov+default_base_moof+skip_trailer -frag_duration 500000 mp4_fragmented_notrailer.mp4
$FF -f lavfi -i "$(tone 16000 1 1)" $META -c:a aac -b:a 16k -f 3gp aac.3gp
# Opus in fragmented MP4, stereo, as Chrome's MediaRecorder writes audio/mp4
$FF -f lavfi -i "$(tone 48000 2 1)" $META -c:a libopus -b:a 24k \
	-movflags frag_keyframe+empty_moov+default_base_moof+skip_trailer -frag_duration 500000 mp4_opus_fragmented.mp4

# AMR: this ffmpeg has AMR decoders but no encoder, so the AMR storage-format files are written
# by hand (50 frames of 20 ms: mode 7, 12.2 kbit/s for NB, mode 8, 23.85 kbit/s for WB, zero
# payloads); ffmpeg's 3GP muxer then puts the same frames in a 3GP (samr / sawb sample entries).
{ printf '#!AMR\n'; i=0; while [ $i -lt 50 ]; do printf '\074'; head -c 31 /dev/zero; i=$((i+1)); done; } > amr_nb_handmade.amr
{ printf '#!AMR-WB\n'; i=0; while [ $i -lt 50 ]; do printf '\104'; head -c 60 /dev/zero; i=$((i+1)); done; } > amr_wb_handmade.awb
$FF -i amr_nb_handmade.amr $META -c copy -f 3gp amr_nb.3gp
$FF -i amr_wb_handmade.awb $META -c copy -f 3gp amr_wb.3gp

# WebM / Opus: seekable output gets a Duration; -live 1 on a pipe omits it (as MediaRecorder does)
$FF -f lavfi -i "$(tone 48000 1 1)" $META -c:a libopus -b:a 16k webm_opus.webm
$FF -f lavfi -i "$(tone 48000 1 2)" $META -c:a libopus -b:a 16k -live 1 -cluster_time_limit 500 -f webm pipe:1 > webm_opus_noduration.webm

# webm_chromium_mediarecorder.webm is recorded by Chromium itself, not ffmpeg: see
# chromium-mediarecorder.mjs beside this script (needs make web-tools and Chromium).

# Matroska (DocType matroska), AAC
$FF -f lavfi -i "$(tone 44100 2 1)" $META -c:a aac -b:a 32k mka_aac.mka

# Ogg
$FF -f lavfi -i "$(tone 48000 1 1)" $META -c:a libopus -b:a 16k ogg_opus.opus
$FF -f lavfi -i "$(tone 22050 1 1)" $META -c:a libvorbis -q:a 0 ogg_vorbis.ogg

# FLAC
$FF -f lavfi -i "$(tone 8000 1 1)" $META -c:a flac flac.flac

# MP3 (ffmpeg writes an ID3v2 tag first; the CBR one has no Xing tag, the VBR one has one)
$FF -f lavfi -i "$(tone 22050 1 1)" $META -c:a libmp3lame -b:a 32k -write_xing 0 mp3_cbr.mp3
$FF -f lavfi -i "$(tone 22050 2 1)" $META -c:a libmp3lame -q:a 7 mp3_vbr_xing.mp3

# AAC ADTS
$FF -f lavfi -i "$(tone 16000 1 1)" $META -c:a aac -b:a 16k aac_adts.aac

# Bodies that lie about themselves
cp mp3_cbr.mp3 lie_mp3_named.wav
cp m4a_moov_end.m4a lie_m4a_named.mp3
printf 'meeting notes\nbuy milk\nthis is not audio at all, only text renamed to .wav\n' > lie_text.wav
head -c 4096 /dev/zero > lie_zeros.wav
: > empty.wav

# Headers that claim more audio than their bytes can hold (no ffmpeg needed; the prober must
# reject both as unreadable_audio). A FLAC that is its STREAMINFO alone, claiming 2^36-1
# samples at 1 Hz (mono, 16 bit; min/max block 4096): 42 bytes, 2,177 years as measured.
{ printf 'fLaC\200\000\000\042\020\000\020\000'; head -c 6 /dev/zero; printf '\000\000\020\377\377\377\377\377'; head -c 16 /dev/zero; } > flac_impossible_duration.flac
# The first 834 bytes of the VBR MP3 (its ID3 tag, Xing frame and first frames, the last one
# cut), its Xing frame count (at byte 49) set to 2^32-1: 3.6 years as measured.
head -c 834 mp3_vbr_xing.mp3 > mp3_impossible_duration.mp3
printf '\377\377\377\377' | dd of=mp3_impossible_duration.mp3 bs=1 seek=49 conv=notrunc 2>/dev/null
