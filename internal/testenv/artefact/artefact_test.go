// Package artefact tests what AWS runs: the two Lambda bootstraps, built as
// `make build` builds them (for this machine's architecture), each under
// AWS's Runtime Interface Emulator with the environment the synthesized CDK
// template gives its function, against DynamoDB Local and MinIO. Every other
// test calls our Go functions or serves the API over plain HTTP; a mistake in
// the Lambda adapter, the build flags, the template's environment or the
// events function's routing by payload shows only here.
package artefact

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.MainThen(m, func() {
		if deployed != nil {
			for _, f := range []*function{deployed.api, deployed.events, deployed.reconciler, deployed.export} {
				if f != nil {
					f.stop()
				}
			}
			deployed.issuerSrv.Close()
			deployed.exportQueue.srv.Close()
			deployed.transcribeSrv.Close()
			_ = os.RemoveAll(deployed.dir)
		}
	})
}

// clientID is the audience the deployment's dev issuer mints tokens for.
const clientID = "recorder-artefact"

// deployment is the stack as the artefact tests run it: one build, one
// template, the emulators provisioned as CloudFormation would, and the
// functions under the emulator, shared by the package's tests.
type deployment struct {
	env      *testenv.Env
	template *template
	// config is what the API's own environment loads to, for the test's
	// own clients (tables, bucket).
	config    config.Config
	issuer    *devissuer.Issuer
	issuerSrv *httptest.Server
	// overlay is what the test adds to each function's template
	// environment: the emulators' endpoints and credentials, the region
	// and the dev issuer.
	overlay map[string]string
	dir     string
	// api, events, reconciler and export run the bootstraps of the
	// template's functions of those names.
	api, events, reconciler, export *function
	// exportQueue stands in for the export queue the API sends to; the
	// tests deliver its messages to the export function as Lambda would.
	exportQueue *queue
	// transcribe is the local engine's Transcribe API, holding its jobs:
	// the tests play Amazon's part, writing the output and delivering the
	// completion event.
	transcribe    *devtranscribe.Engine
	transcribeSrv *httptest.Server
}

var (
	deployOnce sync.Once
	deployed   *deployment
	deployErr  error
)

// deploy returns the package's deployment, building and starting it on
// first use. Without the emulator, a toolchain or the CDK, every test fails:
// nothing skips.
func deploy(t testing.TB) *deployment {
	t.Helper()
	env := testenv.Get(t)
	deployOnce.Do(func() { deployed, deployErr = newDeployment(env) })
	if deployErr != nil {
		t.Fatalf("artefacts unavailable (make test builds and installs everything they need): %v", deployErr)
	}
	return deployed
}

func newDeployment(env *testenv.Env) (*deployment, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	settings, err := buildSettings(root)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(settings.rie); err != nil {
		return nil, fmt.Errorf("the Runtime Interface Emulator is not installed (make rie): %w", err)
	}
	dir, err := os.MkdirTemp("", "recorder-artefact-")
	if err != nil {
		return nil, err
	}
	bins, err := buildBootstraps(root, dir, settings.goflags)
	if err != nil {
		return nil, err
	}
	tmpl, err := synthesize(root, dir, bins)
	if err != nil {
		return nil, err
	}
	d := &deployment{env: env, template: tmpl, dir: dir}

	iss := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + iss.Listener.Addr().String()
	d.issuer, err = devissuer.New(issuerURL, clientID)
	if err != nil {
		return nil, err
	}
	iss.Config.Handler = d.issuer.Handler()
	iss.Start()
	d.issuerSrv = iss
	d.exportQueue = newQueue()
	d.transcribe = &devtranscribe.Engine{Region: templateRegion, Account: templateAccount}
	d.transcribeSrv = httptest.NewServer(d.transcribe.Handler())

	d.overlay = map[string]string{
		// What Lambda itself gives every function (the role's credentials,
		// the region) and the endpoints of the emulators standing in for AWS.
		"AWS_REGION":                templateRegion,
		"AWS_ACCESS_KEY_ID":         devstack.MinIOUser,
		"AWS_SECRET_ACCESS_KEY":     devstack.MinIOPassword,
		"AWS_ENDPOINT_URL_DYNAMODB": env.Dynamo.Endpoint(),
		"AWS_ENDPOINT_URL_S3":       env.MinIO.Endpoint(),
		// The template's queue URL names SQS; the SDK sends to the
		// stand-in. Transcribe's jobs go to the local engine's API.
		"AWS_ENDPOINT_URL_SQS":        d.exportQueue.srv.URL,
		"AWS_ENDPOINT_URL_TRANSCRIBE": d.transcribeSrv.URL,
		// A stage's sign-in providers come from CDK context; the tests'
		// stage signs in through a development issuer.
		"OIDC_PROVIDERS":      "dev",
		"OIDC_DEV_ISSUER":     issuerURL,
		"OIDC_DEV_JWKS_URL":   issuerURL + "/jwks",
		"OIDC_DEV_CLIENT_IDS": clientID,
		"OIDC_DEV_TOKEN_URL":  issuerURL + "/token",
	}
	apiFn, err := tmpl.function(apiFunctionID)
	if err != nil {
		return nil, err
	}
	d.config, err = config.Load(func(k string) string {
		if v, ok := d.overlay[k]; ok {
			return v
		}
		return apiFn.env[k]
	})
	if err != nil {
		return nil, fmt.Errorf("the API function's environment does not load: %w", err)
	}
	if err := provision(env, d.config); err != nil {
		return nil, err
	}

	// The events function first: the API's EVENTS_FUNCTION_NAME invokes it
	// through the Lambda API, which the emulator serves.
	if d.events, err = d.start(eventsFunctionID, settings.rie, bins.events, nil); err != nil {
		return nil, err
	}
	if d.reconciler, err = d.start(reconcilerFunctionID, settings.rie, bins.events, nil); err != nil {
		return nil, err
	}
	if d.export, err = d.start(exportFunctionID, settings.rie, bins.events, nil); err != nil {
		return nil, err
	}
	d.api, err = d.start(apiFunctionID, settings.rie, bins.api, map[string]string{
		"AWS_ENDPOINT_URL_LAMBDA": "http://" + d.events.addr,
	})
	return d, err
}

// start runs the template's function id under the emulator.
func (d *deployment) start(id, rie, bootstrap string, extra map[string]string) (*function, error) {
	spec, err := d.template.function(id)
	if err != nil {
		return nil, err
	}
	vars, err := functionEnv(id, spec.env, d.overlay, extra)
	if err != nil {
		return nil, err
	}
	return startFunction(id, rie, bootstrap, spec, vars, filepath.Join(d.dir, id))
}

// functionEnv is a function's environment: the template's, plus what the
// test adds (overlays, in order). An added variable the template already
// sets is an error: the artefact runs with the template's values or not at
// all.
func functionEnv(id string, template map[string]string, overlays ...map[string]string) (map[string]string, error) {
	vars := map[string]string{}
	for _, o := range overlays {
		for k, v := range o {
			if _, ok := template[k]; ok {
				return nil, fmt.Errorf("%s: the template sets %s, which the test would override", id, k)
			}
			vars[k] = v
		}
	}
	for k, v := range template {
		vars[k] = v
	}
	return vars, nil
}

// settings are what the Makefile says about the Lambda build.
type settings struct {
	goflags, rie string
}

// buildSettings asks make for LAMBDA_GOFLAGS and the emulator's pinned path,
// so this build and the pin cannot drift from `make build` and `make rie`.
func buildSettings(root string) (settings, error) {
	cmd := exec.Command("make", "-s", "--no-print-directory", "-C", root, "lambda-build-settings")
	cmd.Env = withoutMakeFlags(os.Environ())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return settings{}, fmt.Errorf("make lambda-build-settings: %w: %s", err, out)
	}
	var s settings
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "goflags":
			s.goflags = v
		case "rie":
			s.rie = v
		}
	}
	if s.goflags == "" || s.rie == "" {
		return s, fmt.Errorf("make lambda-build-settings said %q; want goflags= and rie= lines", out)
	}
	return s, nil
}

// withoutMakeFlags keeps a `make test` run's flags (-j, -s) out of the
// nested make, whose only output must be the settings.
func withoutMakeFlags(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			out = append(out, kv)
		}
	}
	return out
}

type bootstraps struct {
	api, events string
}

// buildBootstraps builds both bootstraps as `make build` does, with its
// flags given to the shell as make gives them, for this machine's
// architecture instead of arm64: the emulator runs them natively.
func buildBootstraps(root, dir, goflags string) (bootstraps, error) {
	b := bootstraps{api: filepath.Join(dir, "api", "bootstrap"), events: filepath.Join(dir, "events", "bootstrap")}
	for out, pkg := range map[string]string{b.api: "./server", b.events: "./events"} {
		cmd := exec.Command("sh", "-c", "go build "+goflags+` -o "$OUT" "$PKG"`)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "OUT="+out, "PKG="+pkg)
		if o, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("build %s: %w: %s", pkg, err, o)
		}
	}
	return b, nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// provision creates the tables and the bucket the template names, as the
// stack's deployment would. The bucket's notifications go to the harness's
// webhook, where no handler listens: the tests hand the events function the
// notification themselves.
func provision(env *testenv.Env, cfg config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return devstack.Provision(ctx, env.Clients(cfg), cfg, devstack.WebhookARN(testenv.WebhookID))
}
