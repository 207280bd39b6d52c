//go:build unix

package kubernetes

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/skyplan/skyplan/internal/k8sfake"
	"github.com/skyplan/skyplan/internal/testenv"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// realCluster is a real kube-apiserver backed by a real etcd, built by
// `make realk8s`, with one kubeconfig holding a context per user.
type realCluster struct {
	kubeconfig string
	admin      kubernetes.Interface
	// nodeLists counts node list requests that went through the "counted" context.
	nodeLists atomic.Int64
}

func startRealAPIServer(t *testing.T) *realCluster {
	t.Helper()
	apiserverBin, _ := filepath.Abs("../../bin/kube-apiserver")
	etcdBin, _ := filepath.Abs("../../bin/etcd")
	for _, b := range []string{apiserverBin, etcdBin} {
		if _, err := os.Stat(b); err != nil {
			testenv.Missing(t, "kube-apiserver and etcd", "run make realk8s")
		}
	}
	dir := t.TempDir()

	clientPort, peerPort, securePort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	startProcess(t, dir, "etcd", etcdBin,
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", // a throwaway data dir: durability buys nothing
	)

	saKey := filepath.Join(dir, "sa.pem")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, saKey, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	tokens := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokens, `admin-token,admin,1,"system:masters"
nobody-token,nobody,2
lister-token,lister,3
`)
	certDir := filepath.Join(dir, "certs")
	startProcess(t, dir, "kube-apiserver", apiserverBin,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", securePort),
		"--cert-dir="+certDir,
		"--token-auth-file="+tokens,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/24",
		"--authorization-mode=RBAC",
		// The advertise address is loopback, which the endpoint reconciler refuses.
		"--endpoint-reconciler-type=none",
	)
	host := fmt.Sprintf("https://127.0.0.1:%d", securePort)
	waitReady(t, host, "admin-token", filepath.Join(dir, "kube-apiserver.log"))

	c := &realCluster{kubeconfig: filepath.Join(dir, "kubeconfig")}
	proxy := c.countingProxy(t, host)

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["real"] = &clientcmdapi.Cluster{Server: host, InsecureSkipTLSVerify: true}
	cfg.Clusters["counted"] = &clientcmdapi.Cluster{Server: proxy, InsecureSkipTLSVerify: true}
	for name, tok := range map[string]string{"real": "admin-token", "nobody": "nobody-token", "lister": "lister-token", "counted": "admin-token", "unknown": "no-such-token"} {
		cluster := "real"
		if name == "counted" {
			cluster = "counted"
		}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: name}
	}
	cfg.CurrentContext = "real"
	if err := clientcmd.WriteToFile(*cfg, c.kubeconfig); err != nil {
		t.Fatal(err)
	}
	rc, err := ClientOptions{Kubeconfig: c.kubeconfig, Context: "real"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.admin, err = kubernetes.NewForConfig(rc); err != nil {
		t.Fatal(err)
	}
	return c
}

// countingProxy fronts the API server and counts node list requests, so
// the test sees how many pages the provider asked for.
func (c *realCluster) countingProxy(t *testing.T, host string) string {
	target, _ := url.Parse(host)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/nodes" && r.URL.Query().Get("watch") == "" {
			c.nodeLists.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (c *realCluster) provider(t *testing.T, contextName string) *Provider {
	t.Helper()
	p, err := New(t.Context(), providers.Config{
		Cloud:     &spec.Cloud{Name: "kubernetes", Attrs: map[string]any{"kubeconfig": c.kubeconfig, "context": contextName}},
		Workspace: "real",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

// startProcess runs a binary in its own process group, logging to
// dir/name.log, and kills the whole group when the test ends.
func startProcess(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", name, tail(filepath.Join(dir, name+".log"), 3000))
		}
	})
}

// waitReady polls /readyz until the API server answers ok (RBAC bootstrap
// roles included).
func waitReady(t *testing.T, host, token, logPath string) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("kube-apiserver at %s not ready after 60s (last: %s); log tail:\n%s", host, last, tail(logPath, 3000))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// realNodeCount is above two pages of listPageSize.
const realNodeCount = 1200

// realNode is node i of the test cluster: p4d, p5 and g5 GPU nodes, CPU
// nodes with and without an instance-type label. want is the label skyplan
// should set ("" for CPU nodes).
func realNode(i int) (n *corev1.Node, want string) {
	switch i % 10 {
	case 0, 1, 2:
		return k8sfake.GPUNode(fmt.Sprintf("p4d-%04d", i), "p4d.24xlarge", 8, nil), "a100"
	case 3, 4, 5:
		return k8sfake.GPUNode(fmt.Sprintf("p5-%04d", i), "p5.48xlarge", 8, nil), "h100"
	case 6, 7:
		return k8sfake.GPUNode(fmt.Sprintf("g5-%04d", i), "g5.xlarge", 1, nil), "a10g"
	case 8:
		return k8sfake.CPUNode(fmt.Sprintf("cpu-%04d", i), "m6i.xlarge"), ""
	}
	return k8sfake.CPUNode(fmt.Sprintf("bare-%04d", i), ""), ""
}

// createNodes creates the nodes the way a kubelet would: the object, then
// its status (GPU capacity) through the status subresource.
func (c *realCluster) createNodes(t *testing.T) map[string]string {
	t.Helper()
	ctx := t.Context()
	want := map[string]string{}
	var g errgroup.Group
	g.SetLimit(32)
	for i := range realNodeCount {
		n, model := realNode(i)
		if model != "" {
			want[n.Name] = model
		}
		g.Go(func() error {
			status := n.Status
			n.Status = corev1.NodeStatus{}
			created, err := c.admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create node %s: %w", n.Name, err)
			}
			created.Status = status
			if _, err := c.admin.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update status of node %s: %w", n.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return want
}

func (c *realCluster) setLabel(t *testing.T, node, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, key, value)
	if _, err := c.admin.CoreV1().Nodes().Patch(t.Context(), node, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "a-human"}); err != nil {
		t.Fatal(err)
	}
}

// labels reads every node's labels and ownership annotation from the API server.
func (c *realCluster) labels(t *testing.T) (labels map[string]map[string]string, owned map[string]bool) {
	t.Helper()
	list, err := c.admin.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != realNodeCount {
		t.Fatalf("API server lists %d nodes, want %d", len(list.Items), realNodeCount)
	}
	labels, owned = map[string]map[string]string{}, map[string]bool{}
	for _, n := range list.Items {
		labels[n.Name] = n.Labels
		if _, ok := n.Annotations[OwnershipAnnotation]; ok {
			owned[n.Name] = true
		}
	}
	return labels, owned
}

func TestRealAPIServer(t *testing.T) {
	start := time.Now()
	c := startRealAPIServer(t)
	t.Logf("kube-apiserver and etcd ready in %s", time.Since(start).Round(time.Millisecond))
	ctx := t.Context()

	t.Run("Check", func(t *testing.T) {
		got := c.provider(t, "real").Check(ctx)
		if len(got) != 1 || !got[0].OK {
			t.Fatalf("admin: Check = %+v, want compute ok", got)
		}
		got = c.provider(t, "nobody").Check(ctx)
		if len(got) != 1 || got[0].OK || !strings.Contains(got[0].Reason, "may not list or patch nodes") {
			t.Errorf("user with no role: Check = %+v, want denied naming list and patch", got)
		}
		got = c.provider(t, "unknown").Check(ctx)
		if len(got) != 1 || got[0].OK || !strings.Contains(got[0].Reason, "rejected the credentials") {
			t.Errorf("unknown token: Check = %+v, want the credentials rejected", got)
		}

		// Bind "lister" to a role that may list nodes but not patch them.
		rbac := c.admin.RbacV1()
		if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "node-lister"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list"}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "node-lister"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "node-lister"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "lister"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The authorizer learns of the binding through its informers.
		var reason string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			got = c.provider(t, "lister").Check(ctx)
			reason = got[0].Reason
			if strings.Contains(reason, "they may list nodes") {
				break
			}
		}
		if got[0].OK || !strings.Contains(reason, "may not patch nodes") || !strings.Contains(reason, "they may list nodes") {
			t.Errorf("list-only user: Check = %+v, want patch denied, list allowed", got)
		}
	})
	if t.Failed() {
		return
	}

	created := time.Now()
	want := c.createNodes(t)
	t.Logf("%d nodes created in %s", realNodeCount, time.Since(created).Round(time.Millisecond))

	// A person's labels before the plan: a conflicting value skyplan must
	// leave alone, and an unrelated label.
	const conflictNode, teamNode = "p5-0003", "g5-0006"
	c.setLabel(t, conflictNode, DefaultLabelKey, "H100-by-hand")
	c.setLabel(t, teamNode, "team", "research")
	delete(want, conflictNode)

	p := c.provider(t, "counted")
	pol := policy("real", nil)

	// Observe lists the nodes in pages of listPageSize: 1,200 take 3 requests.
	c.nodeLists.Store(0)
	if got, err := p.Observe(ctx, providers.ObserveRequest{Workspace: "real"}); err != nil || len(got) != 0 {
		t.Fatalf("Observe before apply = %v, %v; want nothing", got, err)
	}
	if n := c.nodeLists.Load(); n != 3 {
		t.Errorf("Observe made %d node list requests, want 3 pages of %d", n, listPageSize)
	}

	attrs, notes, err := p.Expand(ctx, pol, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, labelsOf(attrs)); diff != "" {
		t.Fatalf("Expand node_labels (-want +got):\n%s", diff)
	}
	if joined := strings.Join(notes, "\n"); !strings.Contains(joined, "conflict: node p5-0003 has skypilot.co/accelerator=H100-by-hand (not set by skyplan)") {
		t.Errorf("Expand notes lack the conflict on %s:\n%s", conflictNode, joined)
	}

	// A person labels a node after the plan: the patch, conditional on the
	// listed resourceVersion, gets a real 409, and the label is kept.
	const racedNode = "p4d-0010"
	c.setLabel(t, racedNode, DefaultLabelKey, "mine")
	res, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpCreate, Workspace: "real", Address: pol.Address(), Type: pol.Type, Desired: attrs})
	if err == nil || !strings.Contains(err.Error(), "node "+racedNode) || !strings.Contains(err.Error(), "changed since the plan") {
		t.Errorf("Apply over a node labelled since the plan: err = %v, want %s named as changed since the plan", err, racedNode)
	}
	delete(want, racedNode)
	if res == nil {
		t.Fatal("Apply returned no resource")
	}
	if diff := cmp.Diff(want, labelsOf(res.Attrs)); diff != "" {
		t.Errorf("Apply node_labels (-want +got):\n%s", diff)
	}

	got, owned := c.labels(t)
	for name, l := range got {
		switch {
		case name == conflictNode:
			if l[DefaultLabelKey] != "H100-by-hand" || owned[name] {
				t.Errorf("conflicting node %s: label %q, owned %v; want the person's label untouched", name, l[DefaultLabelKey], owned[name])
			}
		case name == racedNode:
			if l[DefaultLabelKey] != "mine" || owned[name] {
				t.Errorf("node %s labelled since the plan: label %q, owned %v; want the person's label kept", name, l[DefaultLabelKey], owned[name])
			}
		case want[name] != "":
			if l[DefaultLabelKey] != want[name] || !owned[name] {
				t.Errorf("node %s: label %q, owned %v; want %q owned by skyplan", name, l[DefaultLabelKey], owned[name], want[name])
			}
		default:
			if _, has := l[DefaultLabelKey]; has || owned[name] {
				t.Errorf("CPU node %s got label %q", name, l[DefaultLabelKey])
			}
		}
	}
	if got[teamNode]["team"] != "research" {
		t.Errorf("unrelated label on %s changed: %v", teamNode, got[teamNode])
	}

	// Observe then Expand again: the plan shows no change in node_labels.
	hint := providers.ResourceHint{Address: pol.Address(), Type: pol.Type, Attrs: res.Attrs}
	obs, err := p.Observe(ctx, providers.ObserveRequest{Workspace: "real", Resources: []providers.ResourceHint{hint}})
	if err != nil || len(obs) != 1 {
		t.Fatalf("Observe after apply = %v, %v; want the policy", obs, err)
	}
	if diff := cmp.Diff(want, labelsOf(obs[0].Attrs)); diff != "" {
		t.Errorf("Observe node_labels (-want +got):\n%s", diff)
	}
	attrs2, _, err := p.Expand(ctx, pol, obs[0])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(labelsOf(obs[0].Attrs), labelsOf(attrs2)); diff != "" {
		t.Errorf("second plan would change node_labels (-observed +desired):\n%s", diff)
	}

	// Delete removes only skyplan's labels.
	if _, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpDelete, Workspace: "real", Address: pol.Address(), Type: pol.Type, Prior: res}); err != nil {
		t.Fatal(err)
	}
	got, owned = c.labels(t)
	for name, l := range got {
		v, has := l[DefaultLabelKey]
		switch {
		case owned[name]:
			t.Errorf("node %s still has the ownership annotation after delete", name)
		case name == conflictNode && v != "H100-by-hand", name == racedNode && v != "mine":
			t.Errorf("delete changed the person's label on %s to %q", name, v)
		case name != conflictNode && name != racedNode && has:
			t.Errorf("delete left %s=%s on %s", DefaultLabelKey, v, name)
		}
	}
	if got[teamNode]["team"] != "research" {
		t.Errorf("delete changed an unrelated label on %s: %v", teamNode, got[teamNode])
	}
	if obs, err := p.Observe(ctx, providers.ObserveRequest{Workspace: "real"}); err != nil || len(obs) != 0 {
		t.Errorf("Observe after delete = %v, %v; want nothing", obs, err)
	}
	t.Logf("whole test took %s", time.Since(start).Round(time.Millisecond))
}
