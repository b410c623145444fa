package artefact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/voicerec/backend/internal/devstack"
)

// function is one bootstrap running under the Runtime Interface Emulator.
type function struct {
	id      string
	spec    functionSpec
	addr    string
	cmd     *exec.Cmd
	started time.Time
	// logs is everything the emulator and the bootstrap wrote.
	logs *syncBuffer
	// mu serializes invokes: the emulator runs one at a time, as one
	// Lambda execution environment does.
	mu sync.Mutex
}

// startFunction runs bootstrap under the emulator with exactly vars as its
// environment (plus the emulator's Lambda settings from the template), so
// nothing of the test process's environment leaks into the artefact.
func startFunction(id, rie, bootstrap string, spec functionSpec, vars map[string]string, dir string) (*function, error) {
	if spec.handler != "bootstrap" || spec.runtime != "provided.al2023" {
		return nil, fmt.Errorf("%s: the template says handler %q on %q; the bootstrap build is for provided.al2023's bootstrap", id, spec.handler, spec.runtime)
	}
	addr, err := devstack.FreeAddr()
	if err != nil {
		return nil, err
	}
	// The Runtime API's default address (127.0.0.1:9001) is one per
	// machine; every emulator here gets its own.
	runtimeAddr, err := devstack.FreeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		// The SDK looks for shared configuration under HOME: an empty one.
		"HOME=" + dir,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(spec.memoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(spec.timeoutS),
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	f := &function{id: id, spec: spec, addr: addr, logs: &syncBuffer{}}
	f.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr, bootstrap)
	f.cmd.Env = env
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	// The emulator and the bootstrap it starts share a process group, so
	// stop ends both; a test binary that dies takes the emulator with it.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	f.started = time.Now()
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the emulator for %s: %w", id, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return f, nil
		}
		if time.Now().After(deadline) {
			f.stop()
			return nil, fmt.Errorf("the emulator for %s never listened on %s: %s", id, addr, f.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *function) stop() {
	if f.cmd.Process != nil {
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		_ = f.cmd.Wait()
	}
}

// errFunction is a function error: the handler returned an error or
// panicked, which Lambda reports in the answer's body.
var errFunction = errors.New("function error")

// invoke sends payload as a synchronous invocation and returns the
// function's answer.
func (f *function) invoke(ctx context.Context, payload any) (json.RawMessage, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.addr+"/2015-03-31/functions/"+emulatedFunctionName+"/invocations", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.id, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("invoke %s: emulator answered %d: %s", f.id, resp.StatusCode, out)
	}
	var fault struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(out, &fault) == nil && fault.ErrorType != "" {
		return out, fmt.Errorf("%w in %s: %s: %s", errFunction, f.id, fault.ErrorType, fault.ErrorMessage)
	}
	return out, nil
}

// logged returns the bootstrap's JSON log entries with message msg.
func (f *function) logged(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(f.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// bootstrapPID is the process the emulator started for the bootstrap.
func (f *function) bootstrapPID() (int, error) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", f.cmd.Process.Pid))
	for _, path := range tasks {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(raw)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Base(exe) == "bootstrap" {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("%s: no bootstrap process under the emulator (pid %d)", f.id, f.cmd.Process.Pid)
}

// maxRSS is the bootstrap's peak resident memory in bytes (VmHWM).
func (f *function) maxRSS() (int64, error) {
	pid, err := f.bootstrapPID()
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
