package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// person is one CLI user: their own home, config directory and working
// directory, as on their own machine.
type person struct {
	t    *testing.T
	bin  string
	s    *stack.Stack
	home string
	work string
}

func newPerson(t *testing.T, bin string, s *stack.Stack) *person {
	home := t.TempDir()
	work := filepath.Join(home, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return &person{t: t, bin: bin, s: s, home: home, work: work}
}

// run invokes the built binary and returns stdout, stderr and the exit code.
func (p *person) run(stdin string, args ...string) (string, string, int) {
	p.t.Helper()
	cmd := exec.Command(p.bin, append([]string{"--api", p.s.APIURL}, args...)...)
	cmd.Dir = p.work
	// No RECORDER_DEV_ISSUER: login --dev finds the issuer through the API.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.home, "XDG_CONFIG_HOME=" + filepath.Join(p.home, ".config")}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (p *person) ok(args ...string) string {
	p.t.Helper()
	out, errs, code := p.run("", args...)
	if code != 0 {
		p.t.Fatalf("recorder %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails runs a command that must fail with one clear line containing want.
func (p *person) fails(want string, args ...string) {
	p.t.Helper()
	_, errs, code := p.run("", args...)
	if code == 0 {
		p.t.Fatalf("recorder %s succeeded", strings.Join(args, " "))
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		p.t.Errorf("recorder %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
}

func (p *person) config() map[string]any {
	p.t.Helper()
	path := filepath.Join(p.home, ".config", "recorder", "config.json")
	st, err := os.Stat(path)
	if err != nil {
		p.t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		p.t.Errorf("config file mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		p.t.Fatal(err)
	}
	return c
}

type listed struct {
	ID          string `json:"id"`
	FileName    string `json:"file_name"`
	SizeBytes   int64  `json:"size_bytes"`
	Status      string `json:"status"`
	SHA256      string `json:"sha256"`
	PartsSHA256 string `json:"parts_sha256"`
}

func (p *person) ls() []listed {
	p.t.Helper()
	var items []listed
	if err := json.Unmarshal([]byte(p.ok("ls", "--json")), &items); err != nil {
		p.t.Fatal(err)
	}
	return items
}

var uploadRow = regexp.MustCompile(`^(.+?)\s{2,}([0-9A-HJKMNP-TV-Z]{26})\s{2,}(\S.*)$`)

// uploaded reads upload's table: the id and status of each name.
func uploaded(t *testing.T, out string) map[string][2]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "NAME ID STATUS" {
		t.Fatalf("upload printed no NAME ID STATUS header:\n%s", out)
	}
	rows := map[string][2]string{}
	for _, l := range lines[1:] {
		m := uploadRow.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("upload row %q", l)
		}
		rows[m[1]] = [2]string{m[2], m[3]}
	}
	return rows
}

func buildCLI(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "recorder")
	if out, err := exec.Command("go", "build", "-o", bin, "./recorder").CombinedOutput(); err != nil {
		t.Fatalf("build the CLI: %v\n%s", err, out)
	}
	return bin
}

// wav is a valid 16-bit mono PCM WAV file of n samples of noise.
func wav(n int) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(1))
	le(uint32(16000))
	le(uint32(32000))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(2 * n))
	noise := make([]byte, 2*n)
	_, _ = rand.Read(noise)
	b.Write(noise)
	return b.Bytes()
}

// m4a starts like an AAC-in-MP4 file; the rest is noise.
// m4a is a real M4A of n bytes (the server checks what it stores).
func m4a(n int) []byte {
	seed := make([]byte, 1)
	_, _ = rand.Read(seed)
	return testaudio.Body("audio/mp4", n, seed[0])
}

// The acceptance test: two new users drive the built CLI against the whole
// local stack, as a newcomer would.
func TestEndToEnd(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	alice, bob := newPerson(t, bin, s), newPerson(t, bin, s)

	alice.fails("not signed in", "ls")
	alice.ok("login", "--dev", "alice")
	bob.ok("login", "--dev", "bob")
	aliceID := alice.config()["user_id"].(string)
	if aliceID == "" || alice.config()["token"] == "" {
		t.Fatal("login stored no session")
	}

	files := map[string][]byte{
		"interview.wav": wav(150_000),
		"회의 녹음 1.m4a":   m4a(300_000),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(alice.work, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(alice.work, "notes.txt"), []byte("not audio"), 0o644); err != nil {
		t.Fatal(err)
	}
	alice.fails("not a recognised audio file", "upload", "notes.txt")

	rows := uploaded(t, alice.ok("upload", "interview.wav", "회의 녹음 1.m4a"))
	for name := range files {
		if rows[name][1] != "available" {
			t.Fatalf("upload printed %v, want %q available", rows, name)
		}
	}
	byName := map[string]string{}
	for _, it := range alice.ls() {
		if it.Status != "available" {
			t.Errorf("%s is %s", it.FileName, it.Status)
		}
		// The CLI always declares the digest, so storage verified it.
		if sum := sha256.Sum256(files[it.FileName]); it.SHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 %q", it.FileName, it.SHA256)
		}
		byName[it.FileName] = it.ID
		if rows[it.FileName][0] != it.ID {
			t.Errorf("upload printed id %s for %s, ls %s", rows[it.FileName][0], it.FileName, it.ID)
		}
	}
	for name, data := range files {
		id, ok := byName[name]
		if !ok {
			t.Fatalf("ls does not show %q: %v", name, byName)
		}
		// Download into a fresh directory: the original name comes back.
		dir := t.TempDir()
		alice.work = dir
		if got := strings.TrimSpace(alice.ok("get", id)); got != name {
			t.Errorf("get %s wrote %q, want %q", id, got, name)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Errorf("%s: downloaded bytes differ from the upload", name)
		}
		alice.ok("get", id, "-o", "copy.bin")
		if again, _ := os.ReadFile(filepath.Join(dir, "copy.bin")); !bytes.Equal(again, data) {
			t.Errorf("%s: -o copy differs", name)
		}
		// Another user sees nothing and cannot fetch it by id.
		bob.fails("no recording "+id, "get", id)
	}
	if items := bob.ls(); len(items) != 0 {
		t.Errorf("bob sees %v", items)
	}
	bob.fails("no recording", "rm", byName["interview.wav"])

	alice.ok("rename", byName["interview.wav"], "interview (final).wav")
	// rm moves to the trash; restore brings it back; rm --purge deletes.
	korean := byName["회의 녹음 1.m4a"]
	alice.ok("rm", korean)
	if items := alice.ls(); len(items) != 1 || items[0].FileName != "interview (final).wav" {
		t.Errorf("after rename and rm: %v", items)
	}
	if trash := alice.ok("trash"); !strings.Contains(trash, "회의 녹음 1.m4a") || !strings.Contains(trash, "deleted") {
		t.Errorf("trash:\n%s", trash)
	}
	alice.ok("trash", "restore", korean)
	if items := alice.ls(); len(items) != 2 {
		t.Errorf("after restore: %v", items)
	}
	alice.ok("rm", "--purge", korean)
	if items := alice.ls(); len(items) != 1 || items[0].FileName != "interview (final).wav" {
		t.Errorf("after rm --purge: %v", items)
	}
	if trash := alice.ok("trash"); strings.Contains(trash, "회의 녹음 1.m4a") {
		t.Errorf("a purged recording is in the trash:\n%s", trash)
	}
	alice.fails("no recording", "trash", "restore", korean)
	alice.fails("no recording", "restore", korean) // the older spelling
	if table := alice.ok("ls"); !strings.Contains(table, "interview (final).wav") || !strings.Contains(table, "available") {
		t.Errorf("ls table:\n%s", table)
	}

	// Deleting the account asks first.
	if _, _, code := alice.run("no\n", "delete-account"); code == 0 {
		t.Fatal("delete-account went ahead without confirmation")
	}
	token := alice.config()["token"].(string)
	alice.ok("delete-account", "--yes")
	alice.fails("not signed in", "ls")

	// Nothing of alice is left anywhere: checked with the admin clients.
	ctx := context.Background()
	objs, err := s.Clients.S3.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: &s.Config.Bucket, Prefix: ptr("recordings/" + aliceID + "/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Contents) != 0 {
		t.Errorf("%d objects of alice remain", len(objs.Contents))
	}
	for _, tbl := range dynamo.Schema {
		if dump := testenv.DumpTable(t, s.Clients.DynamoDB, dynamo.TableName(s.Config.TablePrefix, tbl.Name)); strings.Contains(dump, aliceID) {
			t.Errorf("table %s still holds alice:\n%s", tbl.Name, dump)
		}
	}
	// Bob is untouched.
	if out := bob.ok("whoami"); !strings.Contains(out, "recordings  0 of") {
		t.Errorf("bob: %s", out)
	}
	s.AssertLogsFree(t, token)
}

func ptr[T any](v T) *T { return &v }

// Failures name what went wrong in one line: limits, expired sessions.
func TestFailuresAreOneClearLine(t *testing.T) {
	bin := buildCLI(t)
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"MAX_UPLOAD_BYTES": "1024", "QUOTA_MAX_BYTES": "4096"}})
	p := newPerson(t, bin, s)
	p.ok("login", "--dev", "carol")
	if err := os.WriteFile(filepath.Join(p.work, "long.wav"), wav(2000), 0o644); err != nil {
		t.Fatal(err)
	}
	p.fails("too large: size_bytes is above the maximum of 1.0 KiB", "upload", "long.wav")
	p.fails("no recording 01ARZ3NDEKTSV4RRFFQ69G5FAV", "rename", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "x.wav")
	if err := os.WriteFile(filepath.Join(p.work, "empty.wav"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.fails("empty.wav: the file is empty", "upload", "empty.wav")
	// A WAV header over noise: the CLI takes it for audio, the server does not.
	fake := append([]byte("RIFF\x00\x01\x00\x00WAVE"), bytes.Repeat([]byte{0x5a}, 300)...)
	if err := os.WriteFile(filepath.Join(p.work, "fake.wav"), fake, 0o644); err != nil {
		t.Fatal(err)
	}
	p.fails("not audio: the server could not read fake.wav as audio", "upload", "fake.wav")
	if all := p.ok("ls", "--status", "all"); !regexp.MustCompile(`fake\.wav .* rejected: \w*audio`).MatchString(all) {
		t.Errorf("ls --status all does not show the rejection and its reason:\n%s", all)
	}
	// Four files of 844 bytes fit in 4096; a fifth does not.
	var names []string
	for i := range 5 {
		names = append(names, fmt.Sprintf("short%d.wav", i))
		if err := os.WriteFile(filepath.Join(p.work, names[i]), wav(400), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.ok(append([]string{"upload"}, names[:4]...)...)
	p.fails("quota full: 3.3 KiB used and 0 B reserved for uploads in progress, of 4.0 KiB; this file needs 844 B", "upload", names[4])

	// A session the server no longer knows: the CLI says to log in again.
	path := filepath.Join(p.home, ".config", "recorder", "config.json")
	c := p.config()
	c["token"] = "revoked-" + c["token"].(string)
	c["refresh_token"] = "revoked-" + c["refresh_token"].(string) // else the CLI renews the session
	raw, _ := json.Marshal(c)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	// The hint is the exact command for this API, which lists a dev issuer.
	p.fails("run `recorder login --api "+s.APIURL+" --dev USER` again", "ls")
	p.ok("logout") // a dead session is forgotten all the same
	p.fails("not signed in to "+s.APIURL+": run `recorder login --api "+s.APIURL+" --dev USER` first", "whoami")

	// An API that accepts connections and never answers: the built binary
	// gives up after --timeout, naming the API.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	frozen := "http://" + l.Addr().String()
	start := time.Now()
	_, errs, code := p.run("", "login", "--dev", "carol", "--api", frozen, "--timeout", "1s")
	if want := "recorder login: the API at " + frozen + " did not answer within 1s"; code != 4 || !strings.HasPrefix(errs, want) {
		t.Errorf("login against a frozen API: exit %d, %q; want exit 4, %q", code, errs, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
}
