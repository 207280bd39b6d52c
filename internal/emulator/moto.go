// Package emulator starts the local cloud emulators tests and the demo use,
// always on 127.0.0.1 with a free port.
package emulator

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Moto is a running moto_server (AWS EC2/S3 emulator).
type Moto struct {
	Endpoint string
	cmd      *exec.Cmd
	log      *bytes.Buffer
}

// ErrNotInstalled means the emulator binary is not on PATH.
type ErrNotInstalled struct{ Name string }

func (e ErrNotInstalled) Error() string { return e.Name + " is not installed (not on PATH)" }

// StartMoto starts moto_server on a free loopback port and waits until it answers.
func StartMoto() (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled{Name: "moto_server"}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &Moto{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), log: &bytes.Buffer{}}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	// moto_server is often a pyenv shim that forks python: kill the whole group.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.Endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.Stop()
	return nil, fmt.Errorf("moto_server did not answer on %s within 60s; its output:\n%s", m.Endpoint, m.log.String())
}

// Env returns the environment that points the AWS SDK at this server with
// dummy credentials.
func (m *Moto) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":            m.Endpoint,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
}

// Reset drops every emulated resource (moto's reset API).
func (m *Moto) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Stop kills the server.
func (m *Moto) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		m.cmd.Wait()
	}
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
