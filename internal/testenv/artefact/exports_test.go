package artefact

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/recording"
)

// exportQueueName is the export queue's name in the template.
const exportQueueName = "recorder-" + templateStage + "-exports"

// exportEvent is the SQS batch Lambda's event source mapping hands the
// export function for the one message the API sent, which must have gone
// to the queue the template gives the API.
func (a *app) exportEvent(t *testing.T) map[string]any {
	t.Helper()
	msgs := a.d.exportQueue.take()
	if len(msgs) != 1 {
		t.Fatalf("the API sent %d messages to the export queue; want 1", len(msgs))
	}
	apiFn, err := a.d.template.function(apiFunctionID)
	if err != nil {
		t.Fatal(err)
	}
	if want := apiFn.env["EXPORT_QUEUE_URL"]; msgs[0].QueueURL != want {
		t.Fatalf("the API sent to %q; the template's queue is %q", msgs[0].QueueURL, want)
	}
	return sqsEvent(msgs[0], "arn:aws:sqs:"+templateRegion+":"+templateAccount+":"+exportQueueName)
}

// deliverExport delivers the API's message to the queue's consumer.
func (a *app) deliverExport(t *testing.T) {
	t.Helper()
	fn := a.d.queueConsumer(t, exportQueueName)
	if _, err := fn.invoke(context.Background(), a.exportEvent(t)); err != nil {
		t.Fatalf("the export function: %v\n%s", err, fn.logs.String())
	}
}

// checkArchive checks a finished export as the direct tests do: ready,
// its archive in the bucket, downloadable, holding each of want's bodies.
func (a *app) checkArchive(t *testing.T, user *client.Client, userID, exportID string, want ...[]byte) {
	t.Helper()
	ctx := context.Background()
	ex, err := user.GetExport(ctx, exportID)
	if err != nil || ex.Status != "ready" || ex.Download == nil {
		t.Fatalf("export after the worker = %+v, %v; want ready with a download", ex, err)
	}
	if ok, _ := a.stored(t, recording.ExportKey(userID, exportID)); !ok {
		t.Fatalf("no archive at %s", recording.ExportKey(userID, exportID))
	}
	rc, err := user.OpenDownload(ctx, client.Download{URL: ex.Download.URL})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("the archive does not open: %v", err)
	}
	for _, body := range want {
		found := false
		for _, f := range zr.File {
			r, err := f.Open()
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			b, err := io.ReadAll(r)
			_ = r.Close()
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			found = found || bytes.Equal(b, body)
		}
		if !found {
			t.Errorf("the archive holds no entry of the %d bytes uploaded", len(body))
		}
	}
}

// stepExports starts an export, runs the worker through the queue, lists
// and reads the export and opens its archive.
func stepExports(t *testing.T, f *flow) {
	ctx := context.Background()
	e := f.do(t, ctx, http.MethodPost, "/v1/exports", f.session.AccessToken, jsonHeader, []byte(`{}`))
	var ex client.Export
	decodeInto(t, e, http.StatusAccepted, &ex)
	f.deliverExport(t)
	list, err := f.user.ListExports(ctx)
	if err != nil || len(list) != 1 || list[0].ID != ex.ID {
		t.Fatalf("exports = %+v, %v; want the one started", list, err)
	}
	f.checkArchive(t, f.user, f.session.User.ID, ex.ID, f.body)
}
