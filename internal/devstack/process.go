// Package devstack runs the local stand-ins for AWS: DynamoDB Local and MinIO
// as child processes on loopback, plus the provisioning that makes them look
// like the deployed stack. `make run` and the test harness both use it.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Process is an emulator running as a child process.
type Process struct {
	Name string
	Addr string // host:port it listens on
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Endpoint is the emulator's base URL.
func (p *Process) Endpoint() string { return "http://" + p.Addr }

// Stop asks the process to exit and kills it if it does not within a few
// seconds. It is safe to call more than once.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// CheckPortFree fails with an error naming the port when addr is taken, so a
// second stack or a stray process is reported instead of half-starting.
func CheckPortFree(addr, what string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: port %s is busy (%v); stop what uses it or choose another port", what, addr, err)
	}
	return l.Close()
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func start(name, addr string, log io.Writer, cmd *exec.Cmd) (*Process, error) {
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a terminal's Ctrl-C reaches us, and we stop the
		// children in order. If we die hard, the kernel kills them for us.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls check until it succeeds, the process exits or ctx ends.
func (p *Process) waitReady(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if exited, err := p.Exited(); exited {
			return fmt.Errorf("%s exited during start-up: %v (see its log)", p.Name, err)
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			_ = p.Stop()
			return fmt.Errorf("%s not ready at %s: %w", p.Name, p.Addr, errors.Join(ctx.Err(), last))
		case <-tick.C:
		}
	}
}

func httpCheck(url string, want int) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if want != 0 && resp.StatusCode != want {
			return fmt.Errorf("%s answered %d", url, resp.StatusCode)
		}
		return nil
	}
}

// dynamoCheck passes once DynamoDB Local itself answers: a bare GET gets its
// 400 with a request id and DynamoDB's JSON type. Any HTTP answer is not
// enough: with tests in parallel, another server can take a port picked
// free a moment before the emulator binds it; the emulator then exits, and
// a check that took that server for it would hand out a dead endpoint.
func dynamoCheck(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
			return fmt.Errorf("%s answered %d without DynamoDB's headers: another server holds the port", url, resp.StatusCode)
		}
		return nil
	}
}

// DynamoDBOptions configures DynamoDB Local.
type DynamoDBOptions struct {
	Jar     string // path to DynamoDBLocal.jar; its DynamoDBLocal_lib must sit beside it
	Addr    string // 127.0.0.1:PORT
	DataDir string // persist there; empty means in memory
	Log     io.Writer
}

// StartDynamoDB starts DynamoDB Local and waits until it answers.
func StartDynamoDB(ctx context.Context, o DynamoDBOptions) (*Process, error) {
	if _, err := os.Stat(o.Jar); err != nil {
		return nil, fmt.Errorf("DynamoDB Local is not installed at %s (run `make tools`): %w", o.Jar, err)
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("DynamoDB Local address %q: %w", o.Addr, err)
	}
	if err := CheckPortFree(o.Addr, "DynamoDB Local"); err != nil {
		return nil, err
	}
	dir := filepath.Dir(o.Jar)
	args := []string{
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		// Small heap and quick start: the emulator holds little data here.
		"-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-jar", o.Jar, "-port", port, "-disableTelemetry",
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
			return nil, err
		}
		// One database whatever region or credentials a client uses.
		args = append(args, "-sharedDb", "-dbPath", o.DataDir)
	} else {
		args = append(args, "-sharedDb", "-inMemory")
	}
	_ = host // DynamoDB Local always binds all interfaces; we only ever dial loopback.
	p, err := start("DynamoDB Local", o.Addr, o.Log, exec.Command("java", args...))
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, dynamoCheck(p.Endpoint())); err != nil {
		return nil, err
	}
	return p, nil
}

// MinIO's root credentials in the local stack; they are also the AWS
// credentials the local API uses, and DynamoDB Local accepts any.
const (
	MinIOUser     = "minioadmin"
	MinIOPassword = "minioadmin"
)

// MinIOOptions configures MinIO.
type MinIOOptions struct {
	Binary  string
	Addr    string
	DataDir string
	// Webhooks maps a notification target id to where MinIO POSTs events;
	// the target's ARN is WebhookARN(id).
	Webhooks map[string]Webhook
	Log      io.Writer
}

// Webhook is one MinIO notification target.
type Webhook struct {
	URL string
	// AuthToken is sent as "Authorization: Bearer <token>"; the receiver
	// refuses posts without it.
	AuthToken string
	// QueueDir, when set, makes MinIO keep undelivered events on disk and
	// retry them until the target accepts (answers 2xx), as Lambda retries
	// a failed invocation in AWS.
	QueueDir string
}

// WebhookARN is how MinIO names a webhook notification target.
func WebhookARN(id string) string { return "arn:minio:sqs::" + id + ":webhook" }

// StartMinIO starts MinIO and waits until it is ready.
func StartMinIO(ctx context.Context, o MinIOOptions) (*Process, error) {
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("MinIO is not installed at %s (run `make tools`): %w", o.Binary, err)
	}
	if err := CheckPortFree(o.Addr, "MinIO"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(o.Binary, "server", "--quiet", "--address", o.Addr, o.DataDir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+MinIOUser,
		"MINIO_ROOT_PASSWORD="+MinIOPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// Keep the server to its one port and out of the user's home.
		"MINIO_CONFIG_ENV_FILE=",
		"HOME="+o.DataDir,
	)
	for id, hook := range o.Webhooks {
		cmd.Env = append(cmd.Env,
			"MINIO_NOTIFY_WEBHOOK_ENABLE_"+id+"=on",
			"MINIO_NOTIFY_WEBHOOK_ENDPOINT_"+id+"="+hook.URL,
		)
		if hook.AuthToken != "" {
			cmd.Env = append(cmd.Env, "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_"+id+"="+hook.AuthToken)
		}
		if hook.QueueDir != "" {
			if err := os.MkdirAll(hook.QueueDir, 0o700); err != nil {
				return nil, err
			}
			cmd.Env = append(cmd.Env, "MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_"+id+"="+hook.QueueDir)
		}
	}
	p, err := start("MinIO", o.Addr, o.Log, cmd)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, httpCheck(p.Endpoint()+"/minio/health/ready", http.StatusOK)); err != nil {
		return nil, err
	}
	return p, nil
}

// Port returns the numeric port of a host:port address.
func Port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// NewToken returns a random secret for a webhook between local processes.
func NewToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
