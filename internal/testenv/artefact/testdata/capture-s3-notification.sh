#!/usr/bin/env bash
# Captures the S3 notification the pinned MinIO really sends when an object
# is PUT under recordings/, and writes it to s3-notification.json beside
# this script. The artefact tests feed its Records (bucket, key, size and
# ETag replaced by their own upload's) to the events function.
#
# Run from the repository root after `make tools`:
#   internal/testenv/artefact/testdata/capture-s3-notification.sh
# It needs python3 (the webhook's receiver) and curl (SigV4-signed S3 calls).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
minio=$(ls .local/bin/minio-* | head -n1)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hook_port=$(free_port); s3_port=$(free_port)

# The receiver keeps the first notification's body and answers 200 to all.
python3 - "$hook_port" "$work/body.json" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b"ObjectCreated" in body and b'"Records"' in body:
            open(out, "wb").write(body)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pids+=($!)

export MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin
export MINIO_NOTIFY_WEBHOOK_ENABLE_CAPTURE=on
export MINIO_NOTIFY_WEBHOOK_ENDPOINT_CAPTURE="http://127.0.0.1:$hook_port/"
"$minio" server --quiet --address "127.0.0.1:$s3_port" "$work/data" >"$work/minio.log" 2>&1 &
pids+=($!)
s3="http://127.0.0.1:$s3_port"
for _ in $(seq 100); do curl -fsS "$s3/minio/health/live" >/dev/null 2>&1 && break; sleep 0.1; done

# curl signs the x-amz-content-sha256 header it is given; MinIO wants one.
sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user minioadmin:minioadmin -sS --fail-with-body -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
curl "${sign[@]}" -X PUT "$s3/capture" >/dev/null
cat >"$work/notification.xml" <<XML
<NotificationConfiguration><QueueConfiguration><Id>recordings</Id><Queue>arn:minio:sqs::CAPTURE:webhook</Queue>
<Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:*</Event>
<Filter><S3Key><FilterRule><Name>prefix</Name><Value>recordings/</Value></FilterRule></S3Key></Filter>
</QueueConfiguration></NotificationConfiguration>
XML
# MinIO answers 503 until its webhook target is online: try again a while.
for i in $(seq 50); do
  curl "${sign[@]}" -X PUT "$s3/capture?notification=" -H 'Content-Type: application/xml' \
    --data-binary @"$work/notification.xml" >"$work/notify.out" 2>&1 && break
  [ "$i" = 50 ] && { cat "$work/notify.out"; exit 1; }
  sleep 0.2
done
# A key with a space and Hangul: the notification carries it URL-encoded.
head -c 1000 /dev/zero | curl "${sign[@]}" -X PUT -H 'Content-Type: audio/mp4' --data-binary @- \
  "$s3/capture/recordings/u1/r1%20%ED%95%9C%EA%B8%80.m4a" >/dev/null
for _ in $(seq 100); do [ -s "$work/body.json" ] && break; sleep 0.1; done
[ -s "$work/body.json" ] || { echo "no notification arrived; MinIO's log:"; cat "$work/minio.log"; exit 1; }
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2],"w"), indent=2, ensure_ascii=False); open(sys.argv[2],"a").write("\n")' \
  "$work/body.json" "$here/s3-notification.json"
echo "wrote $here/s3-notification.json"
