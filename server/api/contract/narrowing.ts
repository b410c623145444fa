// Compiled by `make test` (make test-contract) with tsc --strict against the
// types openapi-typescript generates from ../openapi.yaml into ./generated/.
// Each `@ts-expect-error` is an assertion: if the line compiled, tsc would
// report the directive as unused and the check would fail. Nothing here runs.
import type { components, paths } from "./generated/openapi";

type Schemas = components["schemas"];
type Got = paths["/v1/recordings/{id}"]["get"]["responses"][200]["content"]["application/json"];
type Page = paths["/v1/recordings"]["get"]["responses"][200]["content"]["application/json"];
type Listed = Page["items"][number];
type Created = paths["/v1/recordings"]["post"]["responses"][201]["content"]["application/json"];

// The issue's own line: an available recording from GET has its URL.
export function playURL(r: Got): string | undefined {
  if (r.status === "available") return r.download.url;
  return undefined;
}

// Every status narrows to its own fields, and only available has download.
export function describe(r: Got): string {
  switch (r.status) {
    case "pending": {
      // @ts-expect-error a pending recording has no download
      void r.download;
      // @ts-expect-error nor a reason
      void r.reject_reason;
      return `${r.file_name} uploads until ${r.expires_at}`;
    }
    case "available": {
      // @ts-expect-error an available one has no upload window
      void r.expires_at;
      return `${r.file_name} at ${r.download.url} until ${r.download.expires_at}, stored ${r.uploaded_at}`;
    }
    case "rejected": {
      // @ts-expect-error a rejected one has no download
      void r.download;
      const reason: "size_mismatch" | "type_mismatch" | "checksum_mismatch" | "not_audio" | "unreadable_audio" = r.reject_reason;
      return `${r.file_name} refused (${reason}): ${r.reject_detail}`;
    }
    case "deleted": {
      // @ts-expect-error one in the trash is restored before it is played
      void r.download;
      return `${r.file_name} in the trash until ${r.purge_at}`;
    }
    default: {
      // Exhaustive: no status is left unhandled.
      const none: never = r;
      return none;
    }
  }
}

// A listed item carries download only when asked for (include=download_url):
// present-or-absent for available ones, never on any other.
export function listedURL(it: Listed): string | undefined {
  if (it.status === "available") {
    // @ts-expect-error it may be absent
    void it.download.url;
    return it.download?.url;
  }
  // @ts-expect-error no other status carries one
  void it.download;
  return undefined;
}

export function nextPage(p: Page): string | undefined {
  return p.next_cursor;
}

// A recording answered by rename, restore or complete carries no download
// in any status.
export function plain(r: Schemas["Recording"]): string {
  if (r.status === "available") {
    // @ts-expect-error only GET and an asked-for list sign URLs
    void r.download;
    return r.uploaded_at;
  }
  return r.status;
}

// A 201 create is a pending recording with its upload.
export function uploadTarget(c: Created): string {
  const pending: "pending" = c.recording.status;
  if (c.upload.method === "PUT") return `${pending} ${c.upload.url}`;
  return `${pending} multipart of ${c.upload.part_count} parts`;
}

// A delete's outcome narrows: the two trash outcomes carry the recording in
// the trash, with its purge_at; a delete for good carries none.
type DeleteAnswer = paths["/v1/recordings/{id}"]["delete"]["responses"][200]["content"]["application/json"];
export function afterDelete(d: DeleteAnswer): string {
  switch (d.outcome) {
    case "trashed":
    case "already_in_trash":
      return `${d.recording.file_name} is in the trash until ${d.recording.purge_at}`;
    case "deleted":
      // @ts-expect-error deleted for good: no recording
      void d.recording;
      return "deleted for good";
  }
}
